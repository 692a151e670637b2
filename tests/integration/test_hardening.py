"""Hostile callers (issue 16): state that changes while polkit is asked,
the actions a call needs besides its own, and bytes from other processes
that reach the admin's terminal."""

import json
import os
import subprocess
import sys
import threading
import time

import dbus
import pytest
from gi.repository import Gio, GLib

from conftest import ALL_ACTIONS, ctl, opts
from test_errors import error_of
from test_mdev import UUID, attrs
from test_unplug import EDU, GUEST, bound, guest, jobs  # noqa: F401 (guest: a fixture)

MDEV_ACTION = 'org.hostdevd1.mdev'


class PendingCall:
    """A method call made on a connection of its own, from a thread, so
    that the test can go on while the daemon waits for polkit."""

    def __init__(self, path, iface, method, args):
        self.result = None
        self.error = None
        address = os.environ['DBUS_SYSTEM_BUS_ADDRESS']
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.thread = threading.Thread(target=self._call, args=(path, iface, method, args))
        self.thread.start()

    def _call(self, path, iface, method, args):
        try:
            self.result = self.conn.call_sync('org.hostdevd1', path, iface, method, args,
                                              None, Gio.DBusCallFlags.NONE, 30000, None)
        except GLib.Error as e:
            self.error = e

    def wait(self):
        self.thread.join(40)
        assert not self.thread.is_alive(), 'the call was never answered'
        self.conn.close_sync(None)
        return self

    def error_name(self):
        return Gio.DBusError.get_remote_error(self.error) if self.error else None


def hold_polkit(polkit, action):
    """polkit answers every check of @action only when released."""
    polkit.SimulateHangActions([action])


def wait_held(daemon, polkit):
    daemon.wait_for(lambda: polkit.HaveHangingCalls(), what='a call waiting in polkit')


def test_start_rechecks_the_definition_after_polkit(daemon, polkit, testbed):
    """Class 1: Start checks that the mdev is defined, waits for polkit,
    then uses the definition.  An Undefine while polkit is asked must make
    Start answer NotFound, and the daemon must live on (it dereferenced
    NULL and died before the bouncer checked again)."""
    daemon.manager().DefineMdev('mtty', 'mtty-1', UUID, attrs(), opts())
    path = daemon.mdev_path(UUID)
    hold_polkit(polkit, MDEV_ACTION)
    start = PendingCall(path, 'org.hostdevd1.Mdev', 'Start', GLib.Variant('(a{sv})', ({},)))
    wait_held(daemon, polkit)
    # Undefine needs org.hostdevd1.mdev-define, which polkit answers at once.
    daemon.mdev(UUID).Undefine(opts())
    assert not os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID))
    polkit.ReleaseHangingCalls()
    start.wait()
    assert start.result is None
    assert start.error_name() == 'org.hostdevd1.Error.NotFound', start.error
    assert 'mdev %s is not defined' % UUID in start.error.message
    time.sleep(0.2)
    assert daemon.proc.poll() is None, daemon.log()
    # Still answering, and nothing was created.
    assert daemon.props('/org/hostdevd1', 'org.hostdevd1.Manager') is not None
    assert testbed.mdevs() == []


def test_start_rechecks_after_the_file_went(daemon, polkit, testbed):
    """The same, with the definition file removed behind the daemon's back
    (as `mdevctl undefine` does) while polkit is asked."""
    daemon.manager().DefineMdev('mtty', 'mtty-1', UUID, attrs(), opts())
    path = daemon.mdev_path(UUID)
    hold_polkit(polkit, MDEV_ACTION)
    start = PendingCall(path, 'org.hostdevd1.Mdev', 'Start', GLib.Variant('(a{sv})', ({},)))
    wait_held(daemon, polkit)
    os.unlink(os.path.join(daemon.mdev_dir, 'mtty', UUID))
    daemon.wait_for(lambda: not daemon.managed('org.hostdevd1.Mdev'), what='the mdev to go')
    polkit.ReleaseHangingCalls()
    start.wait()
    assert start.error_name() == 'org.hostdevd1.Error.NotFound', start.error
    time.sleep(0.2)
    assert daemon.proc.poll() is None, daemon.log()
    assert testbed.mdevs() == []


def test_undefine_rechecks_after_polkit(daemon, polkit, testbed):
    """Two Undefine calls back to back: the second waits in polkit while the
    first removes the definition, and must answer NotFound."""
    daemon.manager().DefineMdev('mtty', 'mtty-1', UUID, attrs(), opts())
    path = daemon.mdev_path(UUID)
    hold_polkit(polkit, 'org.hostdevd1.mdev-define')
    second = PendingCall(path, 'org.hostdevd1.Mdev', 'Undefine', GLib.Variant('(a{sv})', ({},)))
    wait_held(daemon, polkit)
    polkit.SimulateHangActions(dbus.Array([], signature='s'))
    daemon.mdev(UUID).Undefine(opts())
    polkit.ReleaseHangingCalls()
    second.wait()
    assert second.error_name() == 'org.hostdevd1.Error.NotFound', second.error
    time.sleep(0.2)
    assert daemon.proc.poll() is None, daemon.log()


# ---- Class 5: bytes from other processes reach the admin's terminal ----

# /proc/PID/comm takes 15 bytes: clear the screen, then red.
EVIL_COMM = b'\x1b[2J\x1b[31mevil'
BIDI = {0x061c, 0x200e, 0x200f} | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a))


def shown(text):
    """What hostdevctl prints for @text (hdc_format_escape)."""
    out = []
    for ch in text:
        c = ord(ch)
        if ch in '\t\n\r':
            out.append({'\t': '\\t', '\n': '\\n', '\r': '\\r'}[ch])
        elif c < 0x20 or c == 0x7f:
            out.append('\\x%02x' % c)
        elif 0x80 <= c <= 0x9f or c in BIDI:
            out.append('\\u%04x' % c)
        else:
            out.append(ch)
    return ''.join(out)


def no_controls(text):
    bad = [c for c in text if (ord(c) < 0x20 and c != '\n') or 0x7f <= ord(c) <= 0x9f
           or ord(c) in BIDI]
    assert bad == [], repr(text)


class Holder:
    """A process named @comm that holds the VFIO group node of @address."""

    def __init__(self, testbed, address, comm):
        node = testbed.vfio_node(testbed.group(address))
        code = ('import os, sys\n'
                'open("/proc/self/comm", "wb").write(%r)\n'
                'fd = os.open(%r, os.O_RDONLY)\n'
                'print("ready", flush=True)\n'
                'sys.stdin.read()\n' % (comm, node))
        self.proc = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b'ready'

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(10)


def test_cli_escapes_a_holders_command(daemon, testbed):
    nic = '0000:01:00.0'
    assert daemon.wait_job(daemon.device(nic).BindVfio(opts()))['State'] == 'completed'
    with Holder(testbed, nic, EVIL_COMM) as holder:
        pid = holder.proc.pid
        props = daemon.wait_for(lambda: (lambda d: d if any(int(h[0]) == pid for h in d['Holders'])
                                         else None)(daemon.device_props(nic)), what='Holders')
        command = [str(h[1]) for h in props['Holders'] if int(h[0]) == pid][0]
        # Whatever the daemon made of the bytes (it may sanitize them itself:
        # the daemon's half of class 5), the CLI escapes what it got; the
        # unit test cli-format covers the escaping on its own.

        text = ctl(daemon, 'show', nic, check=0).stdout
        no_controls(text)
        assert '%s[%d] on /dev/vfio/3' % (shown(command), pid) in text

        table = ctl(daemon, 'list', check=0).stdout
        no_controls(table)
        assert '%s[%d]' % (shown(command), pid) in table

        # JSON stays JSON, with the command exactly as the daemon has it.
        data = json.loads(ctl(daemon, 'show', nic, '--json', check=0).stdout)
        assert command in [h['command'] for h in data['holders']]

        # A job waiting for the holder: its status and steps name it.
        with testbed.kernel.hold(nic):
            r = ctl(daemon, 'restore', nic, '--no-wait', check=0)
            job_id = r.stdout.split()[2]
            job = '/org/hostdevd1/jobs/' + job_id
            daemon.wait_for(lambda: 'pid %d' % pid in daemon.job_props(job)['Status'],
                            what='the holder in the job status')
            listing = ctl(daemon, 'jobs', check=0).stdout
            no_controls(listing)
    out = ctl(daemon, 'wait', job_id, check=0).stdout
    no_controls(out)


# ---- Class 7: AttachToDomain needs what the job will do to the host ----

ATTACH = 'org.hostdevd1.attach'
BIND = 'org.hostdevd1.bind'


def test_attach_that_binds_needs_bind(guest, polkit, testbed):
    """EDU has no driver: attaching it binds it to vfio-pci, which
    org.hostdevd1.attach alone must not allow."""
    assert testbed.driver(EDU) is None
    before = jobs(guest)
    polkit.SetAllowed([ATTACH])
    name, text = error_of(guest.device(EDU).AttachToDomain, GUEST, opts())
    assert name == 'org.hostdevd1.Error.NotAuthorized'
    assert 'Not authorized to perform org.hostdevd1.bind' in text
    assert jobs(guest) == before
    assert testbed.driver(EDU) is None
    assert testbed.kernel.log == []
    # With bind as well, the job runs (and the test driver refuses the
    # attach, which rolls the binding back).
    polkit.SetAllowed([ATTACH, BIND])
    p = guest.wait_job(guest.device(EDU).AttachToDomain(GUEST, opts()))
    assert '%s is bound to vfio-pci' % EDU in [str(s) for _, s in p['Steps']]


def test_attach_of_a_device_on_vfio_needs_attach_only(guest, polkit, testbed):
    bound(guest, EDU)
    polkit.SetAllowed([ATTACH])
    p = guest.wait_job(guest.device(EDU).AttachToDomain(GUEST, opts()))
    steps = [str(s) for _, s in p['Steps']]
    assert '%s is on vfio-pci already' % EDU in steps
    assert 'libvirt could not attach the device to domain guest' in p['ErrorMessage']
    assert testbed.driver(EDU) == 'vfio-pci'


def test_attach_that_creates_the_mdev_needs_mdev(guest, polkit, testbed):
    other = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002'
    guest.manager().DefineMdev('mtty', 'mtty-2', other, attrs(), opts())
    before = jobs(guest)
    polkit.SetAllowed([ATTACH])
    name, text = error_of(guest.mdev(other).AttachToDomain, GUEST, opts())
    assert name == 'org.hostdevd1.Error.NotAuthorized'
    assert 'Not authorized to perform org.hostdevd1.mdev' in text
    assert jobs(guest) == before
    assert other not in testbed.mdevs()
    assert [w for w in testbed.kernel.log if 'mdev' in w[0]] == []


def test_attach_refused_while_a_job_changes_the_device(guest, polkit, testbed):
    """The device is on vfio-pci when the call comes (attach alone would
    do), but a restore is giving it back: the attach is refused with Busy
    (a device has one job at a time), so it can never bind the device
    again behind the restore; once the restore ended, the device is back
    on its host side."""
    bound(guest, EDU)
    with testbed.kernel.hold(EDU):
        restore = guest.device(EDU).Restore(opts())
        guest.wait_job(restore, states=('waiting-for-release',))
        polkit.SetAllowed([ATTACH])
        before = jobs(guest)
        name, text = error_of(guest.device(EDU).AttachToDomain, GUEST, opts())
        assert name == 'org.hostdevd1.Error.Busy', (name, text)
        assert jobs(guest) == before
    assert guest.wait_job(restore)['State'] == 'completed'
    assert testbed.driver(EDU) is None


# ---- Class 9: a build without assertions behaves the same ----

def test_pci_object_paths_follow_addresses(daemon, testbed):
    """hdd_pci_device_new() parsed the address inside g_assert(): built
    with G_DISABLE_ASSERT, the devices were published at paths made of
    stack garbage.  Run against such a build with HOSTDEVD_BUILD_DIR."""
    paths = sorted(daemon.managed('org.hostdevd1.PciDevice'))
    want = sorted('/org/hostdevd1/pci/' + a.replace(':', '_').replace('.', '_')
                  for a in ['0000:00:1c.0', '0000:01:00.0', '0000:02:00.0',
                            '0000:02:00.1', '0000:03:00.0', '0000:05:00.0'])
    assert paths == want
    for address in ['0000:01:00.0', '0000:05:00.0']:
        assert daemon.device_path(address) == '/org/hostdevd1/pci/' + \
            address.replace(':', '_').replace('.', '_')
