"""Unplug, AttachToDomain and DetachFromDomain against libvirt's test driver.

The test driver runs in the daemon's process (test:///PATH.xml, no
libvirtd): its running domain "guest" has the testbed's 0000:01:00.0 and
an mdev in its live XML, so hostdevd sees them as the guest's.  It cannot
attach or detach devices (the lab tests that path with the real libvirt),
which makes it the guest libvirt cannot unplug from: the job goes on
through the kernel, where the fake kernel keeps the unbind blocked while
the test holds the device; the deadline policies act there.  It can
destroy a domain, which is what policy destroy-domain does."""

import json
import os
import signal

import dbus
import pytest

from conftest import ctl, opts, Daemon
from test_errors import error_of
from test_mdev import create

NIC = '0000:01:00.0'
EDU = '0000:03:00.0'
# Two functions of one card, in IOMMU group 5.
F0 = '0000:02:00.0'
F1 = '0000:02:00.1'
MDEV = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001'
GUEST = 'guest'


def hostdev_pci(address):
    dom, bus, slotfn = address.split(':')
    slot, fn = slotfn.split('.')
    return ("<hostdev mode='subsystem' type='pci' managed='no'><source>"
            "<address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/>"
            "</source></hostdev>" % (dom, bus, slot, fn))


def hostdev_mdev(uuid):
    return ("<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'><source>"
            "<address uuid='%s'/></source></hostdev>" % uuid)


def libvirt_node(tmp_path, hostdevs):
    """A test-driver node whose running domain "guest" has @hostdevs."""
    path = tmp_path / 'libvirt-node.xml'
    path.write_text(
        "<node>\n<domain type='test'><name>%s</name>"
        "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
        "<memory>131072</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
        "<devices>%s</devices></domain>\n</node>\n" % (GUEST, ''.join(hostdevs)))
    return 'test://' + str(path)


@pytest.fixture
def guest(system_bus, polkit, testbed, state_dir, tmp_path):
    """hostdevd whose libvirt has "guest" holding NIC and MDEV."""
    d = Daemon(system_bus, testbed, state_dir, str(tmp_path / 'hostdevd.log'))
    d.libvirt_uri = libvirt_node(tmp_path, [hostdev_pci(NIC), hostdev_mdev(MDEV)])
    d.start()
    d.wait_for(lambda: d.props('/org/hostdevd1', 'org.hostdevd1.Manager')['LibvirtConnected'],
               what='libvirt connected')
    yield d
    d.stop()
    print(d.log())


def bound(daemon, address):
    p = daemon.wait_job(daemon.device(address).BindVfio(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    daemon.wait_for(lambda: daemon.device_props(address)['VfioGroupNode'], what='VFIO node')


def steps(p):
    return [str(s) for _, s in p['Steps']]


def jobs(daemon):
    return sorted(daemon.managed('org.hostdevd1.Job'))


def test_domain_of_devices(guest, testbed):
    m = guest.props('/org/hostdevd1', 'org.hostdevd1.Manager')
    assert m['LibvirtUri'].startswith('test:///')
    assert guest.wait_for(lambda: guest.device_props(NIC)['Domain'] == GUEST, what='Domain')
    assert guest.device_props('0000:02:00.0')['Domain'] == ''
    _, job = create(guest, uuid=MDEV)
    assert guest.wait_job(job)['State'] == 'completed'
    assert guest.wait_for(lambda: guest.mdev_props(MDEV)['Domain'] == GUEST, what='mdev Domain')
    out = ctl(guest, 'show', NIC, check=0).stdout
    assert 'Domain:           guest' in out
    assert json.loads(ctl(guest, 'show', NIC, '--json', check=0).stdout)['domain'] == GUEST
    mdevs = json.loads(ctl(guest, 'mdev', 'list', '--json', check=0).stdout)['mdevs']
    assert [m['domain'] for m in mdevs] == [GUEST]


def test_unplug_through_the_kernel_when_libvirt_cannot(guest, testbed):
    """The guest's libvirt cannot detach: the kernel's request is the other
    way; past the deadline policy wait keeps waiting, and the daemon keeps
    answering; the job completes once the holder lets go."""
    bound(guest, NIC)
    with testbed.kernel.hold(NIC):
        job = guest.device(NIC).Unplug(opts(deadline=dbus.UInt32(2)))
        p = guest.wait_job(job, states=('waiting-for-release',))
        assert p['Operation'] == 'unplug'
        assert p['Domain'] == GUEST
        assert p['Deadline'] > p['StartTime']
        assert p['Cancelable'] == 0
        p = guest.wait_for(lambda: (lambda p: p if any('Deadline of 2 s passed' in s
                                                       for s in steps(p)) else None)(
            guest.job_props(job)), what='the deadline step')
        s = steps(p)
        comm = open('/proc/self/comm').read().strip()
        assert s[:6] == [
            'Unplugging %s: deadline 2 s, policy wait' % NIC,
            'Holders of %s: %s (pid %d) holds /dev/vfio/3' % (NIC, comm, os.getpid()),
            'Libvirt domain guest has %s as a hostdev without alias' % NIC,
            'Asking libvirt to detach %s from domain guest (live)' % NIC,
            'libvirt could not detach the device from domain guest: this function is not '
            'supported by the connection driver: virDomainDetachDeviceFlags',
            'Releasing %s through the kernel: it asks QEMU of domain guest to let it go' % NIC]
        assert ('Deadline of 2 s passed: domain guest has not let %s go; policy wait: still '
                'waiting' % NIC) in s
        assert p['State'] == 'waiting-for-release'
        guest.wait_for(lambda: 'Waiting for the kernel to release %s: ' % NIC
                       in guest.job_props(job)['Status'], what='the time waited')
        # Responsive while the job waits (the test holds the device until the
        # with-block ends), and the device is still the guest's.
        assert ctl(guest, 'list', check=0).stdout
        assert guest.job_props(job)['State'] == 'waiting-for-release'
        assert testbed.driver(NIC) == 'vfio-pci'
    p = guest.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver(NIC) == 'e1000e'
    assert steps(p)[-1].startswith('%s is free after ' % NIC)
    assert steps(p)[-1].endswith(': released through the kernel, now on e1000e')


def test_policy_fail_cannot_interrupt_the_kernel(guest, testbed):
    bound(guest, NIC)
    with testbed.kernel.hold(NIC):
        job = guest.device(NIC).Unplug(opts(deadline=dbus.UInt32(1), policy='fail'))
        p = guest.wait_for(lambda: (lambda p: p if any('Deadline of 1 s passed' in s
                                                       for s in steps(p)) else None)(
            guest.job_props(job)), what='the deadline step')
        assert ("the kernel's release cannot be interrupted once started (policy fail gives up "
                "only before it): still waiting") in steps(p)[-1]
        assert p['State'] == 'waiting-for-release'
    assert guest.wait_job(job)['State'] == 'completed'


def test_policy_destroy_domain(guest, testbed):
    bound(guest, NIC)
    with testbed.kernel.hold(NIC):
        job = guest.device(NIC).Unplug(opts(deadline=dbus.UInt32(1), policy='destroy-domain'))
        # Destroying the domain ends its QEMU: here, the test lets go.
        guest.wait_for(lambda: guest.device_props(NIC)['Domain'] == '', timeout=15,
                       what='the domain to be destroyed')
        p = guest.job_props(job)
        assert p['State'] == 'waiting-for-release'
        s = steps(p)
        assert ('Destroying domain guest (policy destroy-domain): its guest did not let %s go '
                'within 1 s' % NIC) in s
        assert 'Domain guest was destroyed; waiting for its QEMU to let %s go' % NIC in s
    p = guest.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver(NIC) == 'e1000e'
    assert 'policy destroy-domain: destroying libvirt domain guest' in guest.log()


def test_unplug_mdev_without_libvirt_domain(daemon, testbed):
    """No domain has it (the default test driver): straight to the kernel,
    with the release state the kernel shows."""
    _, job = create(daemon, uuid=MDEV)
    assert daemon.wait_job(job)['State'] == 'completed'
    daemon.wait_for(lambda: daemon.mdev_props(MDEV)['VfioGroupNode'], what='the VFIO node')
    with testbed.kernel.mdev.hold(MDEV):
        job = daemon.mdev(MDEV).Unplug(opts(deadline=dbus.UInt32(5)))
        p = daemon.wait_for(lambda: (lambda p: p if p['ReleaseRequests'] >= 1 else None)(
            daemon.job_props(job)), what='a release request')
        s = steps(p)
        assert s[0] == 'Unplugging mdev %s: deadline 5 s, policy wait' % MDEV
        assert 'No running libvirt domain has mdev %s' % MDEV in s
        assert 'Releasing mdev %s through the kernel: it asks the holders to let it go' % MDEV in s
        assert p['Domain'] == ''
    p = daemon.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert MDEV not in testbed.mdevs()
    assert steps(p)[-1].endswith(': released through the kernel and removed')


def test_unplug_of_a_free_device(daemon, testbed):
    bound(daemon, NIC)
    p = daemon.wait_job(daemon.device(NIC).Unplug(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    assert 'No process holds %s' % NIC in steps(p)
    assert testbed.driver(NIC) == 'e1000e'


def test_cancel_before_the_point_of_no_return(guest, testbed):
    p = guest.wait_job(guest.device(F0).BindVfio(opts(group=True)))
    assert p['State'] == 'completed', p['ErrorMessage']
    with testbed.kernel.hold(F0):
        first = guest.device(F0).Restore(opts())
        guest.wait_job(first, states=('waiting-for-release',))
        # Same IOMMU group: the unplug waits for the restore, cancelable.
        job = guest.device(F1).Unplug(opts())
        guest.wait_for(lambda: 'Waiting for another job' in guest.job_props(job)['Status'],
                       what='queued')
        assert guest.job_props(job)['Cancelable'] == 1
        dbus.Interface(guest.obj(job), 'org.hostdevd1.Job').Cancel(opts())
        p = guest.wait_job(job)
        assert p['State'] == 'cancelled'
        assert p['ErrorName'] == 'org.hostdevd1.Error.Cancelled'
    assert guest.wait_job(first)['State'] == 'completed'


@pytest.mark.parametrize('options, error, message', [
    (dict(deadline=dbus.UInt32(0)), 'InvalidArgument', 'deadline must be between 1 and 86400'),
    (dict(deadline=dbus.UInt32(86401)), 'InvalidArgument', 'not 86401'),
    (dict(deadline=5), 'InvalidArgument', 'Option “deadline” must be of type “u”'),
    (dict(policy='kill'), 'InvalidArgument', 'Unknown policy “kill”'),
    (dict(policy='revoke'), 'NotSupported', 'SupportsRevoke is false'),
    (dict(force=True), 'InvalidArgument', 'Unknown option “force”'),
])
def test_unplug_bad_input_changes_nothing(guest, testbed, options, error, message):
    bound(guest, NIC)
    before = jobs(guest)
    name, text = error_of(guest.device(NIC).Unplug, opts(**options))
    assert name == 'org.hostdevd1.Error.' + error
    assert message in text
    assert jobs(guest) == before
    assert testbed.driver(NIC) == 'vfio-pci'


def test_unplug_of_an_mdev_that_does_not_run(guest, testbed, tmp_path):
    r = ctl(guest, 'mdev', 'define', 'mtty', 'mtty-2', '--uuid', MDEV, check=0)
    assert r.returncode == 0, r.stderr
    name, text = error_of(guest.mdev(MDEV).Unplug, opts())
    assert name == 'org.hostdevd1.Error.NotFound'
    assert text == 'mdev %s is not running' % MDEV


def test_polkit_unplug_and_destroy_are_separate(guest, polkit, testbed):
    bound(guest, NIC)
    before = jobs(guest)
    polkit.SetAllowed(['org.hostdevd1.bind', 'org.hostdevd1.unplug'])
    name, text = error_of(guest.device(NIC).Unplug, opts(policy='destroy-domain'))
    assert name == 'org.hostdevd1.Error.NotAuthorized'
    assert 'org.hostdevd1.destroy-domain' in text
    polkit.SetAllowed(['org.hostdevd1.bind'])
    name, text = error_of(guest.device(NIC).Unplug, opts())
    assert name == 'org.hostdevd1.Error.NotAuthorized'
    assert 'org.hostdevd1.unplug' in text
    name, _ = error_of(guest.device(EDU).AttachToDomain, GUEST, opts())
    assert name == 'org.hostdevd1.Error.NotAuthorized'
    assert jobs(guest) == before


def test_attach_rolls_back_when_libvirt_refuses(guest, testbed):
    """hostdevd binds the device for the domain; the test driver cannot
    attach, so the binding is undone: nothing is left half-done."""
    assert testbed.driver(EDU) is None
    job = guest.device(EDU).AttachToDomain(GUEST, opts(persistent=True))
    p = guest.wait_job(job)
    assert p['State'] == 'failed'
    assert p['Operation'] == 'attach-to-domain'
    assert p['Domain'] == GUEST
    assert 'libvirt could not attach the device to domain guest' in p['ErrorMessage']
    s = steps(p)
    assert s[0] == 'Attaching %s to domain guest' % EDU
    assert '%s is bound to vfio-pci' % EDU in s
    assert ("Asking libvirt to attach %s to domain guest as <hostdev managed='no'> (live and "
            "persistent)" % EDU) in s
    assert 'Giving %s back to its driver' % EDU in s
    assert testbed.driver(EDU) is None
    assert guest.device_props(EDU)['OriginalDriver'] == ''


def test_attach_mdev_creates_and_rolls_back(guest, testbed):
    other = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002'
    r = ctl(guest, 'mdev', 'define', 'mtty', 'mtty-2', '--uuid', other, check=0)
    assert r.returncode == 0, r.stderr
    p = guest.wait_job(guest.mdev(other).AttachToDomain(GUEST, opts()))
    assert p['State'] == 'failed'
    s = steps(p)
    assert 'Created mdev %s of type mtty-2 on mtty' % other in s
    assert 'Removing mdev %s again' % other in s
    assert other not in testbed.mdevs()


@pytest.mark.parametrize('device, domain, error, message', [
    (EDU, '', 'InvalidArgument', 'Invalid domain name “”'),
    (EDU, 'a/b', 'InvalidArgument', 'Invalid domain name “a/b”'),
    (EDU, 'nosuch', 'NotFound', 'No running libvirt domain is named nosuch'),
    (NIC, GUEST, 'Busy', '0000:01:00.0 is attached to domain guest already'),
    ('0000:02:00.0', GUEST, 'NotViable', 'IOMMU group 5 of 0000:02:00.0 is not viable'),
])
def test_attach_bad_input_changes_nothing(guest, testbed, device, domain, error, message):
    guest.wait_for(lambda: guest.device_props(NIC)['Domain'] == GUEST, what='Domain')
    before = jobs(guest)
    name, text = error_of(guest.device(device).AttachToDomain, domain, opts())
    assert name == 'org.hostdevd1.Error.' + error
    assert message in text
    assert jobs(guest) == before
    assert testbed.driver(EDU) is None


def test_detach(guest, testbed):
    # Not attached anywhere.
    name, text = error_of(guest.device(EDU).DetachFromDomain, opts())
    assert name == 'org.hostdevd1.Error.NotFound'
    assert text == '%s is not attached to a running libvirt domain' % EDU
    # Attached, but the test driver cannot detach: the job fails, and never
    # goes on through the kernel.
    bound(guest, NIC)
    guest.wait_for(lambda: guest.device_props(NIC)['Domain'] == GUEST, what='Domain')
    p = guest.wait_job(guest.device(NIC).DetachFromDomain(opts(deadline=dbus.UInt32(3))))
    assert p['State'] == 'failed'
    assert p['Operation'] == 'detach-from-domain'
    assert 'not supported' in p['ErrorMessage']
    assert not any('through the kernel' in s for s in steps(p))
    assert testbed.driver(NIC) == 'vfio-pci'


def test_without_libvirt(system_bus, polkit, testbed, state_dir, tmp_path):
    """hostdevd works without libvirt: domains are unknown, Unplug goes
    through the kernel, what needs libvirt says so."""
    d = Daemon(system_bus, testbed, state_dir, str(tmp_path / 'hostdevd.log'))
    d.libvirt_uri = 'qemu+unix:///system?socket=%s' % (tmp_path / 'no-libvirtd.sock')
    d.start()
    try:
        m = d.props('/org/hostdevd1', 'org.hostdevd1.Manager')
        assert m['LibvirtConnected'] == 0
        bound(d, NIC)
        p = d.wait_job(d.device(NIC).Unplug(opts()))
        assert p['State'] == 'completed', p['ErrorMessage']
        assert any(s.startswith('Domains are unknown: hostdevd is not connected to libvirt')
                   for s in steps(p))
        name, text = error_of(d.device(EDU).AttachToDomain, GUEST, opts())
        assert name == 'org.hostdevd1.Error.NotSupported'
        assert 'not connected to libvirt' in text
        out = ctl(d, 'show', NIC, check=0).stdout
        assert 'Domain:           unknown (hostdevd is not connected to libvirt)' in out
        assert 'is not reachable' in d.log()
    finally:
        d.stop()


def test_cli(guest, testbed):
    bound(guest, NIC)
    with testbed.kernel.hold(NIC):
        r = ctl(guest, 'unplug', NIC, '--deadline', '1', '--no-wait', check=0)
        assert r.stdout.startswith('Started job ')
        job_id = r.stdout.split()[2]
        guest.wait_job('/org/hostdevd1/jobs/' + job_id, states=('waiting-for-release',))
    r = ctl(guest, 'wait', job_id, check=0)
    assert 'Unplugging %s: deadline 1 s, policy wait\n' % NIC in r.stdout
    assert r.stdout.splitlines()[-1].startswith('Job %s completed: %s is free after' % (job_id, NIC))

    bound(guest, NIC)
    r = ctl(guest, 'unplug', NIC, '--json', check=0)
    j = json.loads(r.stdout)
    assert j['operation'] == 'unplug'
    assert j['state'] == 'completed'
    assert j['domain'] == GUEST
    assert j['deadline_usec'] > j['start_time_usec']

    r = ctl(guest, 'unplug', NIC, '--policy', 'kill', check=1)
    assert r.stderr == 'hostdevctl: Unknown policy “kill” (expected wait, fail, destroy-domain or revoke)\n'
    r = ctl(guest, 'unplug', NIC, '--deadline', 'soon', check=2)
    assert 'hostdevctl: --deadline takes a whole number of seconds, not “soon”' in r.stderr
    r = ctl(guest, 'unplug', check=2)
    assert 'Missing the DEV' in r.stderr
    r = ctl(guest, 'attach', EDU, check=2)
    assert 'Missing the DOMAIN' in r.stderr
    r = ctl(guest, 'attach', EDU, 'nosuch', check=1)
    assert r.stderr == 'hostdevctl: No running libvirt domain is named nosuch\n'
    r = ctl(guest, 'detach', MDEV.upper(), check=1)
    assert r.stderr == 'hostdevctl: No mdev %s\n' % MDEV
    r = ctl(guest, 'detach', '0000:09:00.0', check=1)
    assert r.stderr == 'hostdevctl: No PCI device 0000:09:00.0\n'


def test_restart_during_unplug_finds_the_pending_release(daemon, testbed):
    """The daemon is killed while the kernel's remove waits for the holder:
    the kernel goes on, and the next daemon finds release_pending 1 and
    follows the release in a job of its own."""
    _, job = create(daemon, uuid=MDEV)
    assert daemon.wait_job(job)['State'] == 'completed'
    daemon.wait_for(lambda: daemon.mdev_props(MDEV)['VfioGroupNode'], what='the VFIO node')
    with testbed.kernel.mdev.hold(MDEV):
        job = daemon.mdev(MDEV).Unplug(opts())
        daemon.wait_for(lambda: daemon.job_props(job)['ReleaseRequests'] >= 1,
                        what='the release to start')
        daemon.stop(signal.SIGKILL)
        assert testbed.kernel.mdev.release_state(MDEV)[0]
        daemon.start()
        found = daemon.wait_for(lambda: [p for p in daemon.managed('org.hostdevd1.Job').values()
                                         if p['Operation'] == 'release-pending'],
                                what='the release-pending job')
        assert len(found) == 1
        p = found[0]
        path = '/org/hostdevd1/jobs/%d' % p['Id']
        p = daemon.wait_for(lambda: (lambda p: p if len(p['Holders']) else None)(
            daemon.job_props(path)), what='the holders')
        assert p['State'] == 'waiting-for-release'
        assert p['Cancelable'] == 0
        assert int(p['Holders'][0][0]) == os.getpid()
        assert list(p['Objects']) == ['/org/hostdevd1/mdev/' + MDEV.replace('-', '_')]
        assert steps(p)[0].startswith('The kernel is releasing mdev %s (release_pending is 1 in '
                                      % MDEV)
        assert 'job %d follows it' % p['Id'] in daemon.log()
        assert MDEV in testbed.kernel.mdev.mdevs
    p = daemon.wait_job(path)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert steps(p)[-1].startswith('The kernel released mdev %s after ' % MDEV)
    daemon.wait_for(lambda: MDEV not in testbed.mdevs(), what='the mdev to go')
