"""Hostile callers (issue 16): state that changes while polkit is asked,
the actions a call needs besides its own, and bytes from other processes
that reach the admin's terminal."""

import os
import threading
import time

from gi.repository import Gio, GLib

from conftest import ALL_ACTIONS, opts
from test_errors import error_of
from test_mdev import UUID, attrs

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
