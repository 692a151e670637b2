"""Hostile files and names (issue 16, classes 2 and 3): definitions in
/etc/mdevctl.d that are too large, too deep, hold a NUL, or are shaped in a
way mdevctl 1.2 refuses, are reported once and ignored — never fatal, never
altered — while the other definitions load; mdevctl's scripts.d is no
parent; an mdev's attributes are written below its own sysfs directory and
nowhere else, whether at a create or at the start of a definition."""

import os
import time

from conftest import opts
from test_errors import error_of
from test_mdev import UUID, attrs, create
from test_mdev_define import UUID2, install_fixture

UUID3 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1003'


def write_definition(daemon, parent, uuid, data):
    os.makedirs(os.path.join(daemon.mdev_dir, parent), exist_ok=True)
    path = os.path.join(daemon.mdev_dir, parent, uuid)
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def defined(daemon):
    return {str(p['Uuid']) for p in daemon.managed('org.hostdevd1.Mdev').values()
            if p['Defined']}


def refusal(daemon, parent, uuid, why):
    return daemon.wait_for(
        lambda: ('The definition of mdev %s on %s is invalid: ' % (uuid, parent) in daemon.log()
                 and why in daemon.log()), what='the refusal of %s in the log' % uuid)


def test_deeply_nested_definition_before_start(daemon, testbed):
    """100000 '[' overflowed json-glib's recursive parser: the daemon died
    at start.  Now: refused (too large, and too deep), reported once, left
    as it is; the daemon answers and the good definition loads."""
    daemon.stop()
    deep = write_definition(daemon, 'mtty', UUID, '[' * 100000)
    # Small enough for the size bound, deeper than mdevctl reads (127).
    deep2 = write_definition(daemon, 'mtty', UUID3,
                             '{"mdev_type": "mtty-1", "start": "manual", "x": %s%s}'
                             % ('[' * 127, ']' * 127))
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    daemon.start()
    assert daemon.mdev_props(UUID2)['Defined'] == 1
    assert defined(daemon) == {UUID2}
    refusal(daemon, 'mtty', UUID, 'larger than 65536 bytes')
    refusal(daemon, 'mtty', UUID3, 'deeper than 127 levels')
    assert read(deep) == b'[' * 100000
    assert read(deep2).startswith(b'{"mdev_type"')
    # Once per file, not at every reload.
    daemon.manager().DefineMdev('mtty', 'mtty-2', 'a' + UUID[1:], attrs(), opts())
    time.sleep(0.3)
    assert daemon.log().count('Ignoring %s' % deep) == 1
    assert daemon.proc.poll() is None


def test_oversized_definition_refused(daemon, testbed):
    data = '{"mdev_type": "mtty-1", "start": "auto"}' + ' ' * 70000
    big = write_definition(daemon, 'mtty', UUID, data)
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    assert daemon.mdev_props(UUID2)['Defined'] == 1
    assert UUID not in defined(daemon)
    refusal(daemon, 'mtty', UUID, 'larger than 65536 bytes')
    assert read(big) == data.encode()
    # Nor is one written that would be refused when read back.
    long_attrs = [('label', 'v' * 4095)] * 20
    name, msg = error_of(daemon.manager().DefineMdev, 'mtty', 'mtty-2', UUID3,
                         attrs(*long_attrs), opts())
    assert name == 'org.hostdevd1.Error.InvalidArgument'
    assert 'more than the 65536 bytes of a definition file' in msg
    assert not os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID3))


def test_nul_in_definition_refused(daemon, testbed):
    """json-glib reads "x\\u0000y" as "x": the value written to sysfs would
    not be the one in the file."""
    write_definition(daemon, 'mtty', UUID,
                     '{"mdev_type": "mtty-1", "start": "manual", '
                     '"attrs": [{"label": "x\\u0000y"}]}')
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    assert daemon.mdev_props(UUID2)['Defined'] == 1
    assert UUID not in defined(daemon)
    refusal(daemon, 'mtty', UUID, 'NUL')


def test_bad_escapes_in_definition_refused(daemon, testbed):
    """json-glib made bytes that are no UTF-8 of "\\ud800" (and the
    Attributes property, a D-Bus string, cannot carry them), and a NUL of
    its octal "\\0"; JSON (and mdevctl) has neither."""
    write_definition(daemon, 'mtty', UUID,
                     '{"mdev_type": "mtty-1", "start": "manual", '
                     '"attrs": [{"label": "x\\ud800y"}]}')
    write_definition(daemon, 'mtty', UUID3,
                     '{"mdev_type": "mtty-1", "start": "manual", '
                     '"attrs": [{"label": "x\\0y"}]}')
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    assert daemon.mdev_props(UUID2)['Defined'] == 1
    assert defined(daemon) == {UUID2}
    refusal(daemon, 'mtty', UUID, 'half a surrogate pair')
    refusal(daemon, 'mtty', UUID3, 'not JSON (an escape')
    assert daemon.proc.poll() is None


def test_attrs_as_mdevctl_reads_them(daemon, testbed):
    """mdevctl 1.2: each attribute an object of exactly one member."""
    write_definition(daemon, 'mtty', UUID,
                     '{"mdev_type": "mtty-1", "start": "manual", '
                     '"attrs": [{"label": "a", "note": "b"}]}')
    write_definition(daemon, 'mtty', UUID3,
                     '{"mdev_type": "mtty-1", "start": "manual", "attrs": [{}]}')
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    assert daemon.mdev_props(UUID2)['Defined'] == 1
    assert defined(daemon) == {UUID2}
    refusal(daemon, 'mtty', UUID, 'attribute 1 has 2 members')
    refusal(daemon, 'mtty', UUID3, 'attribute 1 has 0 members')


def test_scripts_d_is_no_parent(daemon, testbed):
    """mdevctl keeps its callouts in scripts.d, beside the parents."""
    install_fixture(daemon, 'manual-no-attrs.json', 'scripts.d', UUID)
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    assert daemon.mdev_props(UUID2)['Defined'] == 1
    assert UUID not in defined(daemon)
    name, msg = error_of(daemon.manager().DefineMdev, 'scripts.d', 'mtty-1', UUID3, attrs(),
                         opts())
    assert name == 'org.hostdevd1.Error.InvalidArgument'
    assert 'mdevctl keeps its scripts there' in msg
    assert sorted(os.listdir(os.path.join(daemon.mdev_dir, 'scripts.d'))) == [UUID]


def test_attribute_through_mdev_type_link_refused_at_api(daemon, testbed):
    """mdev_type is a link to the type: mdev_type/create made a second mdev."""
    for call in (daemon.manager().DefineMdev, daemon.manager().CreateMdev):
        name, msg = error_of(call, 'mtty', 'mtty-2', UUID, attrs(('mdev_type/create', UUID2)),
                             opts())
        assert name == 'org.hostdevd1.Error.InvalidArgument'
        assert 'goes through the link “mdev_type”' in msg
    time.sleep(0.3)
    assert testbed.mdevs() == []
    assert not os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID))


def test_stored_definition_through_link_refused_at_load(daemon, testbed):
    """The same written by someone else, start: auto — before the daemon
    starts: refused at load, nothing is started."""
    daemon.stop()
    write_definition(daemon, 'mtty', UUID,
                     '{"mdev_type": "mtty-2", "start": "auto", '
                     '"attrs": [{"mdev_type/create": "%s"}]}' % UUID2)
    daemon.start()
    refusal(daemon, 'mtty', UUID, 'goes through the link “mdev_type”')
    time.sleep(0.5)
    assert testbed.mdevs() == []
    assert defined(daemon) == set()


def vfio_of(testbed, uuid):
    return testbed.kernel.mdev.mdevs[uuid]['vfio']


def test_attribute_write_confined_to_the_mdev(daemon, testbed):
    """A path through a link deeper down (vfio-dev/vfioN/subsystem leads to
    every vfio device) reached another mdev's attributes.  Now the create
    fails, is rolled back, and the other mdev's label is untouched."""
    _, job = create(daemon, uuid=UUID2)
    assert daemon.wait_job(job)['State'] == 'completed'
    other = vfio_of(testbed, UUID2)
    mine = 'vfio%d' % testbed.kernel.mdev._next_vfio
    path = 'vfio-dev/%s/subsystem/%s/device/label' % (mine, other)
    _, job = create(daemon, attributes=[('label', 'mine'), (path, 'pwned')])
    p = daemon.wait_job(job)
    assert p['State'] == 'failed'
    assert p['ErrorName'] == 'org.hostdevd1.Error.InvalidArgument'
    assert "Attribute %s of mdev %s is not the mdev's own" % (path, UUID) in p['ErrorMessage']
    assert 'symbolic link' in p['ErrorMessage']
    daemon.wait_for(lambda: testbed.mdevs() == [UUID2], what='the rollback')
    assert testbed.read(os.path.join(testbed.mdev_dir(UUID2), 'label')) == ''


def test_autostart_write_confined_to_the_mdev(daemon, testbed):
    """The same path from a definition read at start-up (autostart replay)."""
    _, job = create(daemon, uuid=UUID2)
    assert daemon.wait_job(job)['State'] == 'completed'
    other = vfio_of(testbed, UUID2)
    mine = 'vfio%d' % testbed.kernel.mdev._next_vfio
    path = 'vfio-dev/%s/subsystem/%s/device/label' % (mine, other)
    daemon.stop()
    write_definition(daemon, 'mtty', UUID,
                     '{"mdev_type": "mtty-2", "start": "auto", "attrs": [{"%s": "pwned"}]}'
                     % path)
    daemon.start()
    daemon.wait_for(lambda: "is not the mdev's own" in daemon.log(), timeout=15,
                    what='the refused attribute')
    daemon.wait_for(lambda: testbed.mdevs() == [UUID2], what='the rollback')
    assert testbed.read(os.path.join(testbed.mdev_dir(UUID2), 'label')) == ''
    assert daemon.mdev_props(UUID)['Defined'] == 1
