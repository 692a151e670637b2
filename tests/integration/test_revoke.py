"""Unplug with policy revoke, against the fake kernel's revocation
(mdev_testbed.Revocation): at the deadline the job waits until the
kernel's release waits for the holders (release_pending 1), writes 1 to
vfio-dev/vfioX/revoke, and the release completes while the holder lives
on (here: the test keeps its fd open to the end).  Without the attribute
the policy is NotSupported."""

import os

import dbus
import pytest

from conftest import Daemon, ctl, opts
from test_errors import error_of
from test_mdev import create
from test_unplug import GUEST, MDEV, NIC, bound, guest, steps  # noqa: F401 (fixture)
from testbed import FakeKernel, hypervisor_testbed

EDU = '0000:03:00.0'


@pytest.fixture
def testbed(request):
    """The standard testbed on a kernel that can revoke (param True), or
    one with the release state but without revoke (False)."""
    tb = hypervisor_testbed(revoke=getattr(request, 'param', True))
    kernel = FakeKernel(tb).start()
    tb.kernel = kernel
    yield tb
    kernel.stop()
    del tb.tb


def holder():
    return '%s (pid %d)' % (open('/proc/self/comm').read().strip(), os.getpid())


def supports_revoke(d):
    return bool(d.props('/org/hostdevd1', 'org.hostdevd1.Manager')['SupportsRevoke'])


def bound_settled(d, testbed, address):
    """bound(), and then the device's vfio-dev is there and the daemon has
    seen it: the kernel registers the group node first and the vfio-dev a
    moment later (__vfio_register_dev), and the bind job ends on the node."""
    bound(d, address)
    settled(d, testbed, address)


def settled(d, testbed, address):
    d.wait_for(lambda: testbed.vfio_dev_dir(address) is not None, what='the vfio-dev of ' + address)
    if testbed.revoke:
        d.wait_for(lambda: supports_revoke(d), what='SupportsRevoke')


def step_index(s, prefix):
    found = [i for i, x in enumerate(s) if x.startswith(prefix)]
    assert len(found) == 1, (prefix, s)
    return found[0]


def wait_step(d, job, prefix):
    return d.wait_for(lambda: (lambda p: p if any(x.startswith(prefix) for x in steps(p))
                               else None)(d.job_props(job)), timeout=20, what=prefix)


def test_supports_revoke_follows_the_vfio_devices(daemon, testbed):
    """The capability is the attribute of some vfio-dev: none before a
    device is on VFIO, there once one is, gone with the last."""
    assert not supports_revoke(daemon)
    bound(daemon, NIC)
    daemon.wait_for(lambda: supports_revoke(daemon), what='SupportsRevoke')
    p = daemon.wait_job(daemon.device(NIC).Restore(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    daemon.wait_for(lambda: not supports_revoke(daemon), what='SupportsRevoke false again')


def test_revoke_at_the_deadline(guest, testbed):
    """The guest does not let go (libvirt's test driver cannot detach, the
    test holds the device): at the deadline the job revokes the device from
    its holder, the unbind completes, the device is back on its driver,
    while the holder still has its fd open."""
    bound_settled(guest, testbed, NIC)
    assert supports_revoke(guest)
    with testbed.kernel.hold(NIC):
        job = guest.device(NIC).Unplug(opts(deadline=dbus.UInt32(2), policy='revoke'))
        p = guest.wait_job(job)
        assert p['State'] == 'completed', p['ErrorMessage']
        assert testbed.driver(NIC) == 'e1000e'
        assert testbed.kernel.revocation.revoked == [NIC]
    s = steps(p)
    who = '%s of domain %s' % (holder(), GUEST)
    assert s[0] == 'Unplugging %s: deadline 2 s, policy revoke' % NIC
    order = [
        step_index(s, 'Releasing %s through the kernel: it asks QEMU of domain guest' % NIC),
        step_index(s, 'Deadline of 2 s passed: domain guest has not let %s go; policy revoke: '
                   'revoking it from its holders once the kernel\'s release waits' % NIC),
        step_index(s, 'Revoking %s from %s (policy revoke)' % (NIC, who)),
        step_index(s, 'The kernel revoked %s from %s: their open files of it fail from now on, '
                   'the processes live on' % (NIC, who)),
        step_index(s, '%s is free after ' % NIC),
    ]
    assert order == sorted(order)
    assert s[-1].endswith(': released through the kernel after revoking it from %s, now on e1000e'
                          % who)
    # The kernel's order: revoke, then the unbind it let complete.
    log = testbed.kernel.log
    revoke = [i for i, (f, _) in enumerate(log) if f.endswith('/revoke')]
    unbind = [i for i, e in enumerate(log) if e == ('/sys/bus/pci/drivers/vfio-pci/unbind', NIC)]
    assert len(revoke) == 1 and len(unbind) == 1 and revoke[0] < unbind[0]
    assert 'policy revoke: the kernel revoked %s from %s' % (NIC, who) in guest.log()


def test_revoke_waits_for_the_release_to_wait(guest, testbed):
    """The kernel accepts a revoke only while its release waits for the
    holders: past the deadline, the job writes revoke only once
    release_pending is 1."""
    bound_settled(guest, testbed, NIC)
    testbed.kernel.revocation.late.add(NIC)
    with testbed.kernel.hold(NIC):
        job = guest.device(NIC).Unplug(opts(deadline=dbus.UInt32(1), policy='revoke'))
        waiting = "Waiting for the kernel's release of %s to wait for its holders, to revoke it" % NIC
        guest.wait_for(lambda: guest.job_props(job)['Status'].startswith(waiting),
                       what='the wait for release_pending')
        p = guest.job_props(job)
        assert any(s.startswith('Deadline of 1 s passed') for s in steps(p))
        assert not any(s.startswith('Revoking') for s in steps(p))
        assert testbed.kernel.revocation.revoked == []
        testbed.kernel.revocation.late.discard(NIC)
        p = guest.wait_job(job)
        assert p['State'] == 'completed', p['ErrorMessage']
        assert testbed.kernel.revocation.revoked == [NIC]
    # The job's own step of the request comes from its holders poll, in no
    # fixed order with the revocation: what counts is that nothing was
    # revoked before release_pending was 1 (above).
    s = steps(p)
    assert step_index(s, 'Deadline of 1 s passed') < step_index(s, 'Revoking %s from ' % NIC)


def test_revoke_an_mdev_from_the_cli(daemon, testbed):
    """No domain has the mdev: straight to the kernel's remove, revoked at
    the deadline; the mdev is removed."""
    _, job = create(daemon, uuid=MDEV)
    assert daemon.wait_job(job)['State'] == 'completed'
    daemon.wait_for(lambda: daemon.mdev_props(MDEV)['VfioGroupNode'], what='the VFIO node')
    with testbed.kernel.mdev.hold(MDEV):
        r = ctl(daemon, 'unplug', MDEV, '--deadline', '1', '--policy', 'revoke')
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert MDEV not in testbed.mdevs()
        assert testbed.kernel.revocation.revoked == [MDEV]
    out = r.stdout.splitlines()
    assert 'Unplugging mdev %s: deadline 1 s, policy revoke' % MDEV in out
    assert 'Revoking mdev %s from %s (policy revoke): the kernel\'s release waits for them' % (
        MDEV, holder()) in out
    assert out[-1].endswith(': released through the kernel after revoking it from %s, and removed'
                            % holder())


def test_holder_lets_go_at_the_revoke(guest, testbed):
    """The kernel refuses the revoke (the holder let go at that moment:
    EBUSY; the fake's refusal is EISDIR): the job says so and waits for the
    release, which ends without a revocation."""
    bound_settled(guest, testbed, NIC)
    testbed.kernel.revocation.refuse.add(NIC)
    with testbed.kernel.hold(NIC):
        job = guest.device(NIC).Unplug(opts(deadline=dbus.UInt32(1), policy='revoke'))
        p = wait_step(guest, job, 'The kernel refused to revoke %s: ' % NIC)
        assert p['State'] == 'waiting-for-release'
        assert testbed.driver(NIC) == 'vfio-pci'
    p = guest.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver(NIC) == 'e1000e'
    assert testbed.kernel.revocation.revoked == []
    s = steps(p)
    assert step_index(s, 'Revoking %s from ' % NIC) < step_index(s, 'The kernel refused to revoke')
    assert s[-1].endswith(': released through the kernel without a revocation: its holders let '
                          'it go, now on e1000e')


def test_revoke_gone_at_revoke_time(guest, testbed):
    """The attribute is there when the job starts and gone when it revokes:
    NotSupported, said in a step; past the kernel's write the job waits as
    policy wait does."""
    bound_settled(guest, testbed, NIC)
    testbed.kernel.revocation.vanish.add(NIC)
    with testbed.kernel.hold(NIC):
        job = guest.device(NIC).Unplug(opts(deadline=dbus.UInt32(1), policy='revoke'))
        p = wait_step(guest, job, 'Cannot revoke %s (NotSupported): ' % NIC)
        assert 'has no revoke attribute' in steps(p)[-1]
        assert p['State'] == 'waiting-for-release'
    p = guest.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.kernel.revocation.revoked == []


def test_a_device_without_revoke(daemon, testbed):
    """The kernel can revoke (another device shows it), this device's
    vfio-dev cannot: the job fails with NotSupported before it does
    anything."""
    bound(daemon, EDU)
    p = daemon.wait_job(daemon.device(NIC).BindVfio(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    settled(daemon, testbed, NIC)
    os.rmdir(os.path.join(testbed.vfio_dev_dir(NIC), 'revoke'))
    assert supports_revoke(daemon)
    with testbed.kernel.hold(NIC):
        p = daemon.wait_job(daemon.device(NIC).Unplug(opts(policy='revoke')))
        assert p['State'] == 'failed'
        assert p['ErrorName'] == 'org.hostdevd1.Error.NotSupported'
        assert p['ErrorMessage'].startswith('The policy revoke needs a kernel that can revoke '
                                            '%s from its user, and this one cannot (vfio' % NIC)
        assert testbed.driver(NIC) == 'vfio-pci'
        assert not any('through the kernel' in s for s in steps(p))


@pytest.mark.parametrize('testbed', [False], indirect=True)
def test_revoke_not_supported(guest, testbed):
    """A kernel with the release state but without revoke: the policy is
    refused in the call, nothing is done."""
    bound(guest, NIC)
    assert not supports_revoke(guest)
    before = sorted(guest.managed('org.hostdevd1.Job'))
    name, text = error_of(guest.device(NIC).Unplug, opts(policy='revoke'))
    assert name == 'org.hostdevd1.Error.NotSupported'
    assert 'SupportsRevoke is false' in text
    r = ctl(guest, 'unplug', NIC, '--policy', 'revoke', check=1)
    assert 'SupportsRevoke is false' in r.stderr
    assert sorted(guest.managed('org.hostdevd1.Job')) == before
    assert testbed.driver(NIC) == 'vfio-pci'


def test_revoke_needs_cap_sys_admin(system_bus, polkit, testbed, state_dir, tmp_path):
    """The kernel can revoke, the daemon may not (the shipped unit's
    capabilities): SupportsRevoke is false and the policy is refused in
    the call, saying why."""
    d = Daemon(system_bus, testbed, state_dir, str(tmp_path / 'hostdevd.log'))
    d.wrapper = ['setpriv', '--bounding-set', '-sys_admin']
    d.start()
    try:
        bound(d, NIC)
        d.wait_for(lambda: testbed.vfio_dev_dir(NIC) is not None, what='the vfio-dev of ' + NIC)
        assert os.path.isdir(os.path.join(testbed.vfio_dev_dir(NIC), 'revoke'))
        assert not supports_revoke(d)
        name, text = error_of(d.device(NIC).Unplug, opts(policy='revoke'))
        assert name == 'org.hostdevd1.Error.NotSupported'
        assert text.startswith('The policy revoke needs CAP_SYS_ADMIN, which hostdevd does not '
                               'have')
        assert testbed.driver(NIC) == 'vfio-pci'
    finally:
        d.stop()
