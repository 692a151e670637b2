"""Persistent mdevs in mdevctl's format: what mdevctl wrote is read, what
hostdevd writes is byte for byte what mdevctl would, and "start": "auto"
definitions are started at start-up and when their parent appears."""

import os
import shutil
import stat
import time

from conftest import opts
from test_errors import error_of
from test_mdev import UUID, attrs

UUID2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002'
FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'mdevctl')
# The attributes of fixtures/mdevctl/auto-with-attrs.json, as mdevctl 1.2 wrote them.
FIXTURE_ATTRS = [('label', 'console "one"'), ('serial/baud', '115200'),
                 ('note', 'tab\there back\\slash caf\u00e9'), ('ctl', 'a\x01\x1fz')]


def fixture(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def definition(daemon, parent, uuid):
    with open(os.path.join(daemon.mdev_dir, parent, uuid), 'rb') as f:
        return f.read()


def install_fixture(daemon, name, parent, uuid):
    os.makedirs(os.path.join(daemon.mdev_dir, parent), exist_ok=True)
    shutil.copy(os.path.join(FIXTURES, name), os.path.join(daemon.mdev_dir, parent, uuid))


def raw(path):
    with open(path, 'rb') as f:
        return f.read().decode()


def test_define_writes_what_mdevctl_writes(daemon, testbed):
    path = daemon.manager().DefineMdev('mtty', 'mtty-2', UUID, attrs(*FIXTURE_ATTRS),
                                       opts(autostart=True))
    assert path == '/org/hostdevd1/mdev/' + UUID.replace('-', '_')
    assert definition(daemon, 'mtty', UUID) == fixture('auto-with-attrs.json')
    daemon.manager().DefineMdev('mtty', 'mtty-1', UUID2, attrs(), opts())
    assert definition(daemon, 'mtty', UUID2) == fixture('manual-no-attrs.json')
    assert stat.S_IMODE(os.stat(os.path.join(daemon.mdev_dir, 'mtty', UUID)).st_mode) == 0o644
    assert sorted(os.listdir(os.path.join(daemon.mdev_dir, 'mtty'))) == [UUID, UUID2]

    m = daemon.mdev_props(UUID)
    assert (m['Defined'], m['Autostart'], m['Active']) == (1, 1, 0)
    assert (m['Parent'], m['TypeId']) == ('mtty', 'mtty-2')
    assert [tuple(a) for a in m['Attributes']] == FIXTURE_ATTRS
    assert m['IommuGroup'] == -1
    # Defining creates nothing.
    assert testbed.mdevs() == []
    assert [w for w in testbed.kernel.log if 'mdev' in w[0]] == []


def test_reads_what_mdevctl_wrote(daemon, testbed):
    install_fixture(daemon, 'auto-with-attrs.json', 'mtty', UUID)
    install_fixture(daemon, 'manual-no-attrs.json', 'mdpy', UUID2)
    m = daemon.mdev_props(UUID)
    assert (m['Defined'], m['Autostart'], m['Active']) == (1, 1, 0)
    assert (m['Parent'], m['TypeId']) == ('mtty', 'mtty-2')
    assert [tuple(a) for a in m['Attributes']] == FIXTURE_ATTRS
    m = daemon.mdev_props(UUID2)
    assert (m['Defined'], m['Autostart']) == (1, 0)
    assert (m['Parent'], m['TypeId']) == ('mdpy', 'mtty-1')
    assert list(m['Attributes']) == []


def test_bad_definition_is_ignored_not_deleted(daemon, testbed):
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    bad = os.path.join(daemon.mdev_dir, 'mtty', UUID)
    with open(bad, 'w') as f:
        f.write('{"mdev_type": "mtty-1", "start": "sometimes"}')
    assert daemon.mdev_props(UUID2)['Defined'] == 1
    assert UUID.replace('-', '_') not in ' '.join(daemon.managed('org.hostdevd1.Mdev'))
    assert os.path.exists(bad)
    assert 'The definition of mdev %s on mtty is invalid' % UUID in daemon.log()


def test_undefine(daemon, testbed):
    daemon.manager().DefineMdev('mtty', 'mtty-2', UUID, attrs(), opts())
    path = daemon.mdev_path(UUID)
    daemon.mdev(UUID).Undefine(opts())
    assert not os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID))
    assert path not in daemon.managed('org.hostdevd1.Mdev')


def test_start_stop_and_define_running(daemon, testbed):
    daemon.manager().DefineMdev('mtty', 'mtty-1', UUID, attrs(('label', 'one')), opts())
    m = daemon.mdev(UUID)
    p = daemon.wait_job(m.Start(opts()))
    assert (p['State'], p['Operation']) == ('completed', 'start-mdev')
    assert testbed.mdevs() == [UUID]
    assert raw(os.path.join(testbed.mdev_dir(UUID), 'label')) == 'one'
    props = daemon.wait_for(lambda: (lambda m: m if m['Active'] else None)(
        daemon.mdev_props(UUID)), what='active')
    assert props['Defined'] == 1

    p = daemon.wait_job(m.Stop(opts()))
    assert (p['State'], p['Operation']) == ('completed', 'stop-mdev')
    assert testbed.mdevs() == []
    props = daemon.wait_for(lambda: (lambda m: m if not m['Active'] else None)(
        daemon.mdev_props(UUID)), what='inactive')
    assert props['Defined'] == 1      # the definition stays

    # A running mdev is defined as it runs: parent and type from sysfs.
    _, job = daemon.manager().CreateMdev('mtty', 'mtty-2', UUID2, attrs(), opts())
    assert daemon.wait_job(job)['State'] == 'completed'
    daemon.manager().DefineMdev('', '', UUID2, attrs(), opts(autostart=True))
    assert b'"mdev_type": "mtty-2"' in definition(daemon, 'mtty', UUID2)
    assert daemon.mdev_props(UUID2)['Autostart'] == 1


def test_autostart_at_daemon_start(daemon, testbed):
    daemon.stop()
    install_fixture(daemon, 'auto-with-attrs.json', 'mtty', UUID)
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    daemon.start()
    daemon.wait_for(lambda: testbed.mdevs() == [UUID], what='the autostart')
    d = testbed.mdev_dir(UUID)
    for name, value in FIXTURE_ATTRS:
        daemon.wait_for(lambda: raw(os.path.join(d, FIXTURE_ATTRS[-1][0])) == FIXTURE_ATTRS[-1][1],
                        what='the attributes')
        assert raw(os.path.join(d, name)) == value
    m = daemon.wait_for(lambda: (lambda m: m if m['Active'] and m['ActiveJob'] == '/' else None)(
        daemon.mdev_props(UUID)), what='active')
    assert m['Autostart'] == 1
    assert 'Starting mdev %s (start: auto) on mtty' % UUID in daemon.log()
    # The manual one stays down.
    time.sleep(0.5)
    assert testbed.mdevs() == [UUID]


def test_autostart_when_parent_appears(daemon, testbed):
    daemon.manager().DefineMdev('mdpy', 'mdpy-vga', UUID, attrs(('label', 'vga')),
                                opts(autostart=True))
    types = {'mdpy-vga': dict(name='pitch 4096, 1024x768', description='virtual display',
                              device_api='vfio-pci', instances=4)}
    testbed.add_mdev_parent('mdpy', '/sys/devices/virtual/mdpy/mdpy', 'mdpy', types,
                            populate=False)
    # The device is announced before its types exist, as when the module
    # loads: the daemon keeps looking for a while.
    testbed.tb.uevent('/sys/devices/virtual/mdpy/mdpy', 'add')
    time.sleep(1.5)
    assert testbed.mdevs() == []
    testbed.populate_mdev_parent('mdpy')
    daemon.wait_for(lambda: testbed.mdevs() == [UUID], timeout=12, what='the autostart')
    m = daemon.wait_for(lambda: (lambda m: m if m['Active'] and m['ActiveJob'] == '/' else None)(
        daemon.mdev_props(UUID)), what='active')
    assert (m['Parent'], m['TypeId']) == ('mdpy', 'mdpy-vga')
    assert raw(os.path.join(testbed.mdev_dir(UUID), 'label')) == 'vga'
    types = daemon.managed('org.hostdevd1.MdevType')
    assert types['/org/hostdevd1/mdev_type/mdpy/mdpy_2dvga']['AvailableInstances'] in (3, 4)
    daemon.wait_for(lambda: daemon.props('/org/hostdevd1/mdev_type/mdpy/mdpy_2dvga',
                                         'org.hostdevd1.MdevType')['AvailableInstances'] == 3,
                    what='available_instances 3')


def test_failed_write_leaves_nothing(daemon, testbed):
    # The parent's directory cannot be made: a file is in its way.
    os.makedirs(daemon.mdev_dir, exist_ok=True)
    with open(os.path.join(daemon.mdev_dir, 'mtty'), 'w') as f:
        f.write('in the way')
    name, msg = error_of(daemon.manager().DefineMdev, 'mtty', 'mtty-2', UUID, attrs(), opts())
    assert name == 'org.hostdevd1.Error.Failed'
    assert 'Could not write the definition of mdev %s' % UUID in msg
    assert sorted(os.listdir(daemon.mdev_dir)) == ['mtty']
    assert daemon.managed('org.hostdevd1.Mdev') == {}


def test_definitions_written_by_others_are_noticed(daemon, testbed):
    """mdevctl define/undefine while the daemon runs: the Mdev objects follow
    without any call to the daemon (the directories are watched)."""
    def listed():
        return ' '.join(daemon.managed('org.hostdevd1.Mdev'))

    def wait_for(pred, what):
        deadline = time.monotonic() + 5
        while not pred():
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    daemon.manager()   # the daemon is up and has read the (empty) directory
    assert UUID.replace('-', '_') not in listed()
    # A parent directory that did not exist, then a second file in it.
    install_fixture(daemon, 'auto-with-attrs.json', 'mtty', UUID)
    wait_for(lambda: UUID.replace('-', '_') in listed(), 'the new definition appears')
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    wait_for(lambda: UUID2.replace('-', '_') in listed(), 'a second definition appears')
    os.unlink(os.path.join(daemon.mdev_dir, 'mtty', UUID))
    wait_for(lambda: UUID.replace('-', '_') not in listed(), 'the deleted definition goes')
    shutil.rmtree(os.path.join(daemon.mdev_dir, 'mtty'))
    wait_for(lambda: UUID2.replace('-', '_') not in listed(), 'the removed directory goes')


def test_parent_that_appears_with_its_types(daemon, testbed):
    """A parent whose types exist when its uevent comes (a module loaded
    before the daemon looked) ends its watch at once; nothing of the watch
    may fire later. hostdevd once left the watch's timer behind, which fired
    on the freed watch and crashed the daemon (seen in the lab)."""
    types = {'mdpy-vga': dict(name='pitch 4096, 1024x768', description='virtual display',
                              device_api='vfio-pci', instances=4)}
    testbed.add_mdev_parent('mdpy', '/sys/devices/virtual/mdpy/mdpy', 'mdpy', types)
    testbed.tb.uevent('/sys/devices/virtual/mdpy/mdpy', 'add')
    daemon.wait_for(lambda: '/org/hostdevd1/mdev_type/mdpy/mdpy_2dvga'
                    in daemon.managed('org.hostdevd1.MdevType'), what='the new type')
    time.sleep(1.5)   # three times the watch's retry period
    assert daemon.proc.poll() is None, daemon.log()
    assert '/org/hostdevd1/mdev_type/mdpy/mdpy_2dvga' in daemon.managed('org.hostdevd1.MdevType')
