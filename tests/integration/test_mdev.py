"""Mediated devices: the types parents offer, create and remove as jobs,
attributes written in order and rolled back when the vendor driver rejects
one."""

import os

import dbus

from conftest import opts
from test_errors import error_of

UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001'
MTTY2 = '/org/hostdevd1/mdev_type/mtty/mtty_2d2'


def attrs(*pairs):
    return dbus.Array([dbus.Struct(p, signature='ss') for p in pairs], signature='(ss)')


def create(daemon, type_='mtty-2', uuid=UUID, attributes=(), parent='mtty', **options):
    return daemon.manager().CreateMdev(parent, type_, uuid, attrs(*attributes), opts(**options))


def test_types(daemon, testbed):
    types = daemon.managed('org.hostdevd1.MdevType')
    assert sorted(types) == ['/org/hostdevd1/mdev_type/mtty/mtty_2d1', MTTY2]
    t = types[MTTY2]
    assert t['Parent'] == 'mtty'
    assert t['TypeId'] == 'mtty-2'
    assert t['Name'] == 'Dual port serial'
    assert t['Description'] == 'virtual serial ports'
    assert t['DeviceApi'] == 'vfio-pci'
    assert t['AvailableInstances'] == 12


def test_instance_given_back_after_the_job(daemon, testbed):
    """The vendor driver gives the instance back only after the remove's
    job saw the mdev go and dropped its object: the kernel's remove uevent,
    which comes after, still makes the type's count right (its path names
    the parent)."""
    path, job = create(daemon)
    assert daemon.wait_job(job)['State'] == 'completed'
    daemon.wait_for(lambda: daemon.props(MTTY2, 'org.hostdevd1.MdevType')
                    ['AvailableInstances'] == 11, what='available_instances 11')
    testbed.kernel.mdev.give_back_delay = 0.5
    p = daemon.wait_job(daemon.mdev(UUID).Remove(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    daemon.wait_for(lambda: path not in daemon.managed('org.hostdevd1.Mdev'),
                    what='the object of an undefined mdev to go')
    daemon.wait_for(lambda: daemon.props(MTTY2, 'org.hostdevd1.MdevType')
                    ['AvailableInstances'] == 12, what='available_instances 12')
    assert testbed.available('mtty', 'mtty-2') == 12


def test_create_and_remove(daemon, testbed):
    path, job = create(daemon, attributes=[('label', 'console'), ('serial/baud', '115200')])
    assert path == '/org/hostdevd1/mdev/' + UUID.replace('-', '_')
    p = daemon.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert p['Operation'] == 'create-mdev'
    assert list(p['Objects']) == [path]
    assert testbed.mdevs() == [UUID]
    assert testbed.read(os.path.join(testbed.mdev_dir(UUID), 'label')) == 'console'
    assert testbed.read(os.path.join(testbed.mdev_dir(UUID), 'serial/baud')) == '115200'
    writes = [w for w in testbed.kernel.log if w[0].startswith('/sys/class/mdev_bus')]
    assert writes == [('/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create', UUID)]

    m = daemon.wait_for(lambda: (lambda m: m if m['Active'] and m['ActiveJob'] == '/' else None)(
        daemon.mdev_props(UUID)), what='the mdev to be active')
    assert m['Uuid'] == UUID
    assert m['Parent'] == 'mtty'
    assert m['TypeId'] == 'mtty-2'
    assert m['Defined'] == 0
    assert [tuple(a) for a in m['Attributes']] == [('label', 'console'), ('serial/baud', '115200')]
    group = testbed.kernel.mdev.mdevs[UUID]['group']
    assert m['IommuGroup'] == group
    assert m['VfioGroupNode'] == '/dev/vfio/%d' % group
    assert m['VfioDeviceNode'].startswith('/dev/vfio/devices/vfio')
    daemon.wait_for(lambda: daemon.props(MTTY2, 'org.hostdevd1.MdevType')
                    ['AvailableInstances'] == 11, what='available_instances 11')

    job = daemon.mdev(UUID).Remove(opts())
    p = daemon.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert p['Operation'] == 'remove-mdev'
    assert testbed.mdevs() == []
    assert ('/sys/bus/mdev/devices/%s/remove' % UUID, '1') in testbed.kernel.log
    daemon.wait_for(lambda: path not in daemon.managed('org.hostdevd1.Mdev'),
                    what='the object of an undefined mdev to go')
    daemon.wait_for(lambda: daemon.props(MTTY2, 'org.hostdevd1.MdevType')
                    ['AvailableInstances'] == 12, what='available_instances 12')


def test_random_uuid(daemon, testbed):
    path, job = create(daemon, uuid='')
    assert daemon.wait_job(job)['State'] == 'completed'
    uuid = testbed.mdevs()[0]
    assert path == '/org/hostdevd1/mdev/' + uuid.replace('-', '_')
    assert daemon.mdev_props(uuid)['Uuid'] == uuid


def test_upper_case_uuid_is_canonicalized(daemon, testbed):
    _, job = create(daemon, uuid=UUID.upper())
    assert daemon.wait_job(job)['State'] == 'completed'
    assert testbed.mdevs() == [UUID]


def test_rejected_attribute_rolls_back(daemon, testbed):
    path, job = create(daemon, attributes=[('label', 'a'), ('reject_me', 'x'), ('serial/baud', '9600')])
    p = daemon.wait_job(job)
    assert p['State'] == 'failed'
    assert p['ErrorName'] == 'org.hostdevd1.Error.Failed'
    assert 'rejected attribute reject_me' in p['ErrorMessage']
    assert 'Is a directory' in p['ErrorMessage']
    steps = [s for _, s in p['Steps']]
    assert any(s.startswith('Removing mdev %s again' % UUID) for s in steps)
    # Created, then removed again: nothing is left, the later attribute was
    # never written, the instance is back.
    daemon.wait_for(lambda: testbed.mdevs() == [], what='the rollback')
    creates = [w for w in testbed.kernel.log if w[0].endswith('/create')]
    assert creates == [('/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create', UUID)]
    assert ('/sys/bus/mdev/devices/%s/remove' % UUID, '1') in testbed.kernel.log
    assert testbed.available('mtty', 'mtty-2') == 12
    daemon.wait_for(lambda: path not in daemon.managed('org.hostdevd1.Mdev'),
                    what='the object to go')


def test_remove_of_held_mdev_waits_and_reports(daemon, testbed):
    _, job = create(daemon)
    assert daemon.wait_job(job)['State'] == 'completed'
    daemon.wait_for(lambda: daemon.mdev_props(UUID)['VfioGroupNode'], what='the VFIO node')
    group = testbed.kernel.mdev.mdevs[UUID]['group']
    with testbed.kernel.mdev.hold(UUID):
        # The mdev's own Holders, from the daemon's periodic scan.
        m = daemon.wait_for(lambda: (lambda m: m if len(m['Holders']) else None)(
            daemon.mdev_props(UUID)), what='mdev Holders')
        assert (os.getpid(), '/dev/vfio/%d' % group) in [(int(h[0]), str(h[2]))
                                                          for h in m['Holders']]
        job = daemon.mdev(UUID).Remove(opts())
        p = daemon.wait_job(job, states=('waiting-for-release',))
        assert p['Cancelable'] == 0
        # Holder, release_pending and a growing release_requests.
        p = daemon.wait_for(lambda: (lambda p: p if len(p['Holders']) and
                                     p['ReleaseRequests'] >= 2 else None)(
            daemon.job_props(job)), what='holders and 2 requests')
        pid, command, node = p['Holders'][0]
        assert int(pid) == os.getpid()
        assert node == '/dev/vfio/%d' % group
        assert command
        steps = [s for _, s in p['Steps']]
        # One step per new count seen (a poll a second: a count may be skipped).
        assert any('asked the holders of %s to release it (request ' % UUID in s for s in steps)
        assert any('Waiting for release of %s' % UUID in s and 'pid %d' % os.getpid() in s
                   for s in steps)
        # The daemon keeps answering, and other work goes on.
        assert daemon.device_path('0000:01:00.0')
        other = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002'
        _, job2 = create(daemon, uuid=other)
        assert daemon.wait_job(job2)['State'] == 'completed'
        # Past the point of no return.
        name, _ = error_of(dbus.Interface(daemon.obj(job), 'org.hostdevd1.Job').Cancel, opts())
        assert name == 'org.hostdevd1.Error.Busy'
        assert daemon.job_props(job)['State'] == 'waiting-for-release'
        assert UUID in testbed.kernel.mdev.mdevs
    p = daemon.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert list(p['Holders']) == []
    assert p['ReleaseRequests'] >= 2
    assert UUID not in testbed.mdevs()
    assert [s for _, s in p['Steps']][-1] == 'Removed mdev %s' % UUID
