"""Bad input and refused authorization: a clear error, nothing changed."""

import os

import dbus
import pytest

from conftest import opts

HOSTILE = [
    '', '0000:00:1f.7/../../x', '../../etc', '/sys/bus/pci/devices/0000:01:00.0',
    '0000:01:00.0/driver', '0000:01:00.0 ', '0000:01:20.0', '0000:01:00.8', 'x' * 10240,
    '0000:01:00.0;reboot', '%s', '\u00e9\u00e9:01:00.0',
]


def error_of(call, *args):
    with pytest.raises(dbus.DBusException) as e:
        call(*args)
    return e.value.get_dbus_name(), e.value.get_dbus_message()


def state_files(daemon):
    return sorted(os.listdir(daemon.state_dir))


@pytest.mark.parametrize('address', HOSTILE, ids=lambda a: repr(a[:24]))
def test_hostile_addresses(daemon, testbed, address):
    name, msg = error_of(daemon.manager().GetDevice, address, opts())
    assert name == 'org.hostdevd1.Error.InvalidArgument'
    assert msg.startswith('Invalid PCI address')
    assert len(msg) < 200
    assert testbed.kernel.log == []


def _raw_call_with_nul(address):
    """Sends GetDevice with a NUL inside the address string over a raw bus
    connection, bypassing the client libraries (which refuse to marshal
    it).  Returns what the bus answered."""
    import socket
    from gi.repository import Gio, GLib

    path = address.split('unix:path=')[1].split(',')[0]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    s.sendall(b'\0AUTH EXTERNAL ' + str(os.getuid()).encode().hex().encode() + b'\r\n')
    assert s.recv(4096).startswith(b'OK')
    s.sendall(b'BEGIN\r\n')

    def blob(dest, path_, iface, member, body, serial):
        m = Gio.DBusMessage.new_method_call(dest, path_, iface, member)
        if body is not None:
            m.set_body(body)
        m.set_serial(serial)
        return bytearray(m.to_blob(Gio.DBusCapabilityFlags.NONE))

    s.sendall(blob('org.freedesktop.DBus', '/org/freedesktop/DBus',
                   'org.freedesktop.DBus', 'Hello', None, 1))
    raw = blob('org.hostdevd1', '/org/hostdevd1', 'org.hostdevd1.Manager', 'GetDevice',
               GLib.Variant('(sa{sv})', ('0000:01:00.0QQQQ', {})), 2)
    i = raw.index(b'QQQQ')
    raw[i:i + 4] = b'\0../'
    s.sendall(bytes(raw))
    got = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    return got


def test_nul_cannot_reach_the_daemon(daemon, testbed):
    # D-Bus forbids NUL in strings; the bus drops a connection that sends
    # one, so the daemon never sees it, and it is still answering after.
    got = _raw_call_with_nul(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
    assert b'No PCI device' not in got and b'Invalid PCI address' not in got
    assert daemon.device_path('0000:01:00.0')
    assert testbed.kernel.log == []


def test_unknown_device(daemon):
    name, msg = error_of(daemon.manager().GetDevice, '0000:42:00.0', opts())
    assert name == 'org.hostdevd1.Error.NotFound'
    assert msg == 'No PCI device 0000:42:00.0'


def test_unknown_job(daemon):
    name, _ = error_of(daemon.manager().GetJob, dbus.UInt32(4242), opts())
    assert name == 'org.hostdevd1.Error.NotFound'


@pytest.mark.parametrize('options', [
    {'bogus': True},
    {'group': 'yes'},
    {'group': dbus.Int32(1)},
    {'persist': dbus.String('true')},
    {'allow-interaction': dbus.UInt32(1)},
], ids=['unknown', 'string-for-bool', 'int-for-bool', 'persist-string', 'interaction-uint'])
def test_bad_options(daemon, testbed, options):
    before = state_files(daemon)
    name, msg = error_of(daemon.device('0000:01:00.0').BindVfio, opts(**options))
    assert name == 'org.hostdevd1.Error.InvalidArgument'
    assert 'ption' in msg
    assert testbed.kernel.log == []
    assert testbed.override('0000:01:00.0') is None
    assert state_files(daemon) == before


def test_options_on_every_method(daemon):
    dev = daemon.device('0000:01:00.0')
    for call in (dev.Restore, dev.Persist, dev.Forget):
        name, _ = error_of(call, opts(bogus=True))
        assert name == 'org.hostdevd1.Error.InvalidArgument'
    name, _ = error_of(daemon.manager().GetDevice, '0000:01:00.0', opts(bogus=True))
    assert name == 'org.hostdevd1.Error.InvalidArgument'


def test_wrong_signature(daemon):
    from gi.repository import Gio, GLib
    conn = Gio.DBusConnection.new_for_address_sync(
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'],
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    with pytest.raises(GLib.Error) as e:
        conn.call_sync('org.hostdevd1', daemon.device_path('0000:01:00.0'),
                       'org.hostdevd1.PciDevice', 'BindVfio', GLib.Variant('(s)', ('group',)),
                       None, Gio.DBusCallFlags.NONE, 5000, None)
    assert 'org.freedesktop.DBus.Error.InvalidArgs' in e.value.message
    conn.close_sync(None)


def test_not_authorized_changes_nothing(daemon, testbed, polkit):
    polkit.SetAllowed(['org.hostdevd1.persist'])
    before = state_files(daemon)
    dev = daemon.device('0000:01:00.0')
    for call in (dev.BindVfio, dev.Restore):
        name, msg = error_of(call, opts())
        assert name == 'org.hostdevd1.Error.NotAuthorized'
        assert 'org.hostdevd1.bind' in msg
    assert testbed.kernel.log == []
    assert testbed.override('0000:01:00.0') is None
    assert state_files(daemon) == before

    polkit.SetAllowed(['org.hostdevd1.bind'])
    name, msg = error_of(dev.Persist, opts())
    assert name == 'org.hostdevd1.Error.NotAuthorized'
    assert 'org.hostdevd1.persist' in msg
    assert state_files(daemon) == before
    assert daemon.device_props('0000:01:00.0')['Persistent'] == 0


def test_reading_needs_no_authorization(daemon, polkit):
    polkit.SetAllowed(dbus.Array([], signature='s'))
    assert daemon.device_props('0000:01:00.0')['Driver'] == 'e1000e'


def test_cancel_of_someone_elses_job_needs_cancel_any(daemon, testbed, polkit, system_bus):
    p = daemon.wait_job(daemon.device('0000:01:00.0').BindVfio(opts()))
    assert p['State'] == 'completed'
    with testbed.kernel.hold('0000:01:00.0'):
        job = daemon.device('0000:01:00.0').Restore(opts())
        daemon.wait_job(job, states=('waiting-for-release',))
        polkit.SetAllowed(dbus.Array([], signature='s'))
        # A second connection is another caller.
        other = dbus.bus.BusConnection(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
        iface = dbus.Interface(other.get_object('org.hostdevd1', job), 'org.hostdevd1.Job')
        with pytest.raises(dbus.DBusException) as e:
            iface.Cancel(opts())
        assert e.value.get_dbus_name() == 'org.hostdevd1.Error.NotAuthorized'
        assert 'cancel-any' in e.value.get_dbus_message()
        other.close()
    assert daemon.wait_job(job)['State'] == 'completed'
