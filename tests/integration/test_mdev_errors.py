"""Bad input to the mdev methods, and refused authorization: a clear
org.hostdevd1.Error.*, and nothing created, written or defined."""

import os

import dbus
import pytest

from conftest import opts
from test_errors import error_of
from test_mdev import UUID, attrs, create

UUID2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002'


def mdev_writes(testbed):
    return [w for w in testbed.kernel.log if 'mdev' in w[0] or w[0] == 'create refused']


def definitions(daemon):
    found = []
    for dirpath, _, files in os.walk(daemon.mdev_dir):
        found += [os.path.join(dirpath, f) for f in files]
    return found


def assert_nothing_changed(daemon, testbed):
    assert mdev_writes(testbed) == []
    assert testbed.mdevs() == []
    assert definitions(daemon) == []
    assert daemon.managed('org.hostdevd1.Mdev') == {}
    assert testbed.available('mtty', 'mtty-2') == 12


@pytest.mark.parametrize('parent,type_,uuid,attributes,name,needle', [
    ('nope', 'mtty-2', UUID, [], 'NotFound', 'No mdev parent device nope'),
    ('mtty', 'mtty-9', UUID, [], 'NotFound', 'mtty offers no mdev type mtty-9'),
    ('mtty', 'mtty-2', 'not-a-uuid', [], 'InvalidArgument', 'Invalid UUID'),
    ('mtty', 'mtty-2', UUID[:-1], [], 'InvalidArgument', 'Invalid UUID'),
    ('mtty', 'mtty-2', UUID + '/../x', [], 'InvalidArgument', 'Invalid UUID'),
    ('mtty', 'mtty-2', 'x' * 10000, [], 'InvalidArgument', 'Invalid UUID'),
    ('', 'mtty-2', UUID, [], 'InvalidArgument', 'Invalid mdev parent: it is empty'),
    ('../mtty', 'mtty-2', UUID, [], 'InvalidArgument', 'Invalid mdev parent'),
    ('mtty/../mtty', 'mtty-2', UUID, [], 'InvalidArgument', 'Invalid mdev parent'),
    ('..', 'mtty-2', UUID, [], 'InvalidArgument', 'Invalid mdev parent'),
    ('mtty', 'mtty-2/../mtty-1', UUID, [], 'InvalidArgument', 'Invalid mdev type'),
    ('mtty', '../../../../../../etc', UUID, [], 'InvalidArgument', 'Invalid mdev type'),
    ('mtty', 'mtty-2', UUID, [('../remove', '1')], 'InvalidArgument', 'Invalid mdev attribute'),
    ('mtty', 'mtty-2', UUID, [('/etc/passwd', 'x')], 'InvalidArgument', 'Invalid mdev attribute'),
    ('mtty', 'mtty-2', UUID, [('serial//baud', 'x')], 'InvalidArgument', 'Invalid mdev attribute'),
    ('mtty', 'mtty-2', UUID, [('label', 'v' * 5000)], 'InvalidArgument', 'too long'),
], ids=['unknown-parent', 'unknown-type', 'uuid-word', 'uuid-short', 'uuid-path', 'uuid-huge',
        'parent-empty', 'parent-dotdot', 'parent-path', 'parent-is-dotdot', 'type-path',
        'type-etc', 'attr-remove', 'attr-absolute', 'attr-empty-component', 'value-too-long'])
def test_bad_create(daemon, testbed, parent, type_, uuid, attributes, name, needle):
    for method in ('CreateMdev', 'DefineMdev'):
        if method == 'DefineMdev' and name == 'NotFound':
            continue   # a definition may wait for its parent
        err, msg = error_of(getattr(daemon.manager(), method), parent, type_, uuid,
                            attrs(*attributes), opts())
        assert err == 'org.hostdevd1.Error.' + name, (method, msg)
        assert needle in msg, (method, msg)
        assert len(msg) < 300
    assert_nothing_changed(daemon, testbed)


def test_no_instance_left(daemon, testbed):
    testbed.set_available('mtty', 'mtty-2', 0)
    err, msg = error_of(create, daemon)
    assert err == 'org.hostdevd1.Error.Busy'
    assert 'available_instances is 0' in msg
    assert mdev_writes(testbed) == []
    assert daemon.managed('org.hostdevd1.Mdev') == {}


def test_duplicate_uuid(daemon, testbed):
    assert daemon.wait_job(create(daemon)[1])['State'] == 'completed'
    before = list(testbed.kernel.log)
    err, msg = error_of(create, daemon, 'mtty-1')
    assert err == 'org.hostdevd1.Error.AlreadyExists'
    assert UUID in msg
    assert testbed.kernel.log == before
    # A defined UUID is taken too, whichever parent it is defined for.
    daemon.manager().DefineMdev('elsewhere', 'x-1', UUID2, attrs(), opts())
    err, msg = error_of(create, daemon, 'mtty-1', UUID2)
    assert err == 'org.hostdevd1.Error.AlreadyExists'
    assert 'defined already (on elsewhere)' in msg
    err, msg = error_of(daemon.manager().DefineMdev, 'mtty', 'mtty-1', UUID2, attrs(), opts())
    assert err == 'org.hostdevd1.Error.AlreadyExists'
    assert testbed.kernel.log == before


@pytest.mark.parametrize('method,options', [
    ('CreateMdev', {'bogus': True}),
    ('CreateMdev', {'autostart': True}),
    ('CreateMdev', {'allow-interaction': dbus.UInt32(1)}),
    ('DefineMdev', {'autostart': 'yes'}),
    ('DefineMdev', {'autostart': dbus.Int32(1)}),
    ('DefineMdev', {'start': 'auto'}),
], ids=['create-unknown', 'create-autostart', 'create-interaction-uint', 'define-string',
        'define-int', 'define-unknown'])
def test_bad_options(daemon, testbed, method, options):
    err, msg = error_of(getattr(daemon.manager(), method), 'mtty', 'mtty-2', UUID,
                        attrs(), opts(**options))
    assert err == 'org.hostdevd1.Error.InvalidArgument'
    assert 'ption' in msg
    assert_nothing_changed(daemon, testbed)


def test_bad_options_on_mdev_methods(daemon, testbed):
    daemon.manager().DefineMdev('mtty', 'mtty-2', UUID, attrs(), opts())
    m = daemon.mdev(UUID)
    for call in (m.Remove, m.Start, m.Stop, m.Undefine):
        err, _ = error_of(call, opts(bogus=True))
        assert err == 'org.hostdevd1.Error.InvalidArgument'
    err, _ = error_of(daemon.manager().GetMdev, UUID, opts(bogus=True))
    assert err == 'org.hostdevd1.Error.InvalidArgument'
    assert mdev_writes(testbed) == []
    assert len(definitions(daemon)) == 1


def test_wrong_signature(daemon, testbed):
    from gi.repository import Gio, GLib
    conn = Gio.DBusConnection.new_for_address_sync(
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'],
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    for args in (GLib.Variant('(sssa{ss}a{sv})', ('mtty', 'mtty-2', UUID, {}, {})),
                 GLib.Variant('(sss)', ('mtty', 'mtty-2', UUID))):
        with pytest.raises(GLib.Error) as e:
            conn.call_sync('org.hostdevd1', '/org/hostdevd1', 'org.hostdevd1.Manager',
                           'CreateMdev', args, None, Gio.DBusCallFlags.NONE, 5000, None)
        assert 'org.freedesktop.DBus.Error.InvalidArgs' in e.value.message
    conn.close_sync(None)
    assert_nothing_changed(daemon, testbed)


def test_state_errors(daemon, testbed):
    daemon.manager().DefineMdev('mtty', 'mtty-2', UUID, attrs(), opts())
    m = daemon.mdev(UUID)
    err, msg = error_of(m.Remove, opts())
    assert (err, msg) == ('org.hostdevd1.Error.NotFound', 'mdev %s is not running' % UUID)
    err, msg = error_of(daemon.manager().GetMdev, UUID2, opts())
    assert (err, msg) == ('org.hostdevd1.Error.NotFound', 'No mdev %s' % UUID2)
    err, msg = error_of(daemon.manager().GetMdev, '../x', opts())
    assert err == 'org.hostdevd1.Error.InvalidArgument'
    assert daemon.wait_job(m.Start(opts()))['State'] == 'completed'
    err, msg = error_of(m.Start, opts())
    assert err == 'org.hostdevd1.Error.AlreadyExists'
    m.Undefine(opts())
    err, msg = error_of(m.Undefine, opts())
    assert (err, msg) == ('org.hostdevd1.Error.NotFound', 'mdev %s is not defined' % UUID)


def test_not_authorized(daemon, testbed, polkit):
    polkit.SetAllowed(['org.hostdevd1.bind', 'org.hostdevd1.mdev-define'])
    err, msg = error_of(create, daemon)
    assert err == 'org.hostdevd1.Error.NotAuthorized'
    assert 'org.hostdevd1.mdev' in msg
    assert mdev_writes(testbed) == []
    assert daemon.managed('org.hostdevd1.Mdev') == {}

    daemon.manager().DefineMdev('mtty', 'mtty-2', UUID, attrs(), opts())
    m = daemon.mdev(UUID)
    err, _ = error_of(m.Start, opts())
    assert err == 'org.hostdevd1.Error.NotAuthorized'
    assert mdev_writes(testbed) == []

    polkit.SetAllowed(['org.hostdevd1.mdev'])
    assert daemon.wait_job(m.Start(opts()))['State'] == 'completed'
    before = list(testbed.kernel.log)
    for call in (m.Undefine,):
        err, msg = error_of(call, opts())
        assert err == 'org.hostdevd1.Error.NotAuthorized'
        assert 'org.hostdevd1.mdev-define' in msg
    err, _ = error_of(daemon.manager().DefineMdev, 'mtty', 'mtty-1', UUID2, attrs(), opts())
    assert err == 'org.hostdevd1.Error.NotAuthorized'
    assert len(definitions(daemon)) == 1

    polkit.SetAllowed(dbus.Array([], signature='s'))
    for call in (m.Remove, m.Stop):
        err, _ = error_of(call, opts())
        assert err == 'org.hostdevd1.Error.NotAuthorized'
    assert testbed.kernel.log == before
    assert testbed.mdevs() == [UUID]
    # Reading needs nothing.
    assert daemon.mdev_props(UUID)['Active'] == 1
