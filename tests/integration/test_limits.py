"""What one caller can make the daemon do is bounded (docs/dbus-api.md,
"Limits"): calls waiting for polkit, jobs in flight; a caller that leaves
takes its waiting calls with it; over a limit, LimitExceeded and nothing
done."""

import contextlib
import os
import time

import dbus
import gi
import pytest

gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

from conftest import opts  # noqa: E402
from test_mdev import create  # noqa: E402

NIC = '0000:01:00.0'
PER_SENDER_PENDING = 16    # HDD_BOUNCER_MAX_PENDING_PER_SENDER
PER_SENDER_JOBS = 16       # HDD_JOB_TABLE_MAX_JOBS_PER_SENDER
POLKIT = 'org.freedesktop.PolicyKit1.Authority'


class Caller:
    """A bus connection of its own (a unique name of its own), whose calls
    are sent without waiting for their answers."""

    def __init__(self):
        self.conn = Gio.DBusConnection.new_for_address_sync(
            os.environ['DBUS_SYSTEM_BUS_ADDRESS'],
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.answers = []    # (True, value) or (False, D-Bus error name, message)

    def call(self, path, iface, method, args):
        def done(conn, res, _):
            try:
                self.answers.append((True, conn.call_finish(res).unpack()))
            except GLib.Error as e:
                self.answers.append((False, Gio.DBusError.get_remote_error(e), e.message))
        self.conn.call('org.hostdevd1', path, iface, method, args, None,
                       Gio.DBusCallFlags.NONE, 60000, None, done, None)

    def wait(self, n, daemon):
        ctx = GLib.MainContext.default()

        def answered():
            while ctx.iteration(False):
                pass
            return len(self.answers) >= n
        daemon.wait_for(answered, what='%d answers' % n)
        return self.answers

    def close(self):
        self.conn.close_sync(None)


def persist_args():
    return GLib.Variant('(a{sv})', ({},))


def test_pending_authorizations_limited_per_caller(daemon, polkit, testbed):
    path = str(daemon.device_path(NIC))
    polkit.SimulateHang(True)
    caller = Caller()
    for _ in range(PER_SENDER_PENDING + 1):
        caller.call(path, 'org.hostdevd1.PciDevice', 'Persist', persist_args())
    # The one over the limit is answered at once; the others wait.
    (answer,) = caller.wait(1, daemon)
    assert answer[:2] == (False, 'org.hostdevd1.Error.LimitExceeded')
    assert 'at most %d per caller' % PER_SENDER_PENDING in answer[2]
    daemon.wait_for(lambda: polkit.HaveHangingCalls(), what='hanging checks')
    # Another caller is not held back by this one.
    other = Caller()
    other.call(path, 'org.hostdevd1.PciDevice', 'Persist', persist_args())
    polkit.SimulateHang(False)
    polkit.ReleaseHangingCalls()
    answers = caller.wait(PER_SENDER_PENDING + 1, daemon)
    assert [a[0] for a in answers[1:]] == [True] * PER_SENDER_PENDING
    assert other.wait(1, daemon) == [(True, ())]
    # Answered: the limit is free again.
    caller.call(path, 'org.hostdevd1.PciDevice', 'Persist', persist_args())
    assert caller.wait(PER_SENDER_PENDING + 2, daemon)[-1] == (True, ())
    caller.close()
    other.close()


def test_pending_authorizations_cancelled_when_caller_leaves(daemon, polkit, testbed):
    polkit.AddMethod(POLKIT, 'CancelCheckAuthorization', 's', '', '')
    polkit.SimulateHang(True)
    caller = Caller()
    for address in (NIC, '0000:03:00.0'):
        caller.call(str(daemon.device_path(address)), 'org.hostdevd1.PciDevice', 'BindVfio',
                    GLib.Variant('(a{sv})', ({},)))
    daemon.wait_for(lambda: len(polkit.GetMethodCalls('CheckAuthorization')) >= 2,
                    what='the checks')
    caller.close()
    # Its checks are cancelled: polkit is told...
    daemon.wait_for(lambda: len(polkit.GetMethodCalls('CancelCheckAuthorization')) == 2,
                    what='the checks cancelled')
    # ...and an answer that comes anyway starts nothing.
    polkit.SimulateHang(False)
    polkit.ReleaseHangingCalls()
    daemon.device_props(NIC)    # a round trip after the answers
    assert daemon.managed('org.hostdevd1.Job') == {}
    assert testbed.driver(NIC) == 'e1000e'
    assert testbed.driver('0000:03:00.0') is None
    assert 'Job 1' not in daemon.log()


def uuid(i):
    return '83b8f4f2-509f-382f-3c1e-e6bfe0fa%04x' % (0x2000 + i)


def test_jobs_limited_per_caller(daemon, testbed):
    n = PER_SENDER_JOBS + 1
    for i in range(n):
        _, job = create(daemon, type_='mtty-1', uuid=uuid(i))
        assert daemon.wait_job(job)['State'] == 'completed'
    mdev = lambda i: dbus.Interface(daemon.obj(daemon.mdev_path(uuid(i))),   # noqa: E731
                                    'org.hostdevd1.Mdev')
    holds = [contextlib.ExitStack() for _ in range(n)]
    try:
        for i in range(n):
            holds[i].enter_context(testbed.kernel.mdev.hold(uuid(i)))
        # Each removal waits for its holder: a job (and a thread) each.
        jobs = [mdev(i).Remove(opts()) for i in range(PER_SENDER_JOBS)]
        for job in jobs:
            daemon.wait_job(job, states=('waiting-for-release',))
        before = sorted(daemon.managed('org.hostdevd1.Job'))
        with pytest.raises(dbus.DBusException) as e:
            mdev(n - 1).Remove(opts())
        assert e.value.get_dbus_name() == 'org.hostdevd1.Error.LimitExceeded'
        assert 'runs %d jobs, as many as one caller may' % PER_SENDER_JOBS \
            in e.value.get_dbus_message()
        assert sorted(daemon.managed('org.hostdevd1.Job')) == before
        assert uuid(n - 1) in testbed.kernel.mdev.mdevs
        # Another caller may still start one.
        other = Caller()
        other.call(str(daemon.mdev_path(uuid(n - 1))), 'org.hostdevd1.Mdev', 'Remove',
                   GLib.Variant('(a{sv})', ({},)))
        (answer,) = other.wait(1, daemon)
        assert answer[0], answer
        jobs.append(answer[1][0])
        for i in range(n):
            holds[i].close()
            daemon.wait_for(lambda: uuid(i) not in testbed.kernel.mdev.mdevs, what='removed')
        for job in jobs:
            assert daemon.wait_job(job)['State'] == 'completed'
    finally:
        # One at a time here too: the testbed's uevents do not keep up
        # with many removals at once.
        for i, h in enumerate(holds):
            h.close()
            with contextlib.suppress(AssertionError):
                daemon.wait_for(lambda: uuid(i) not in testbed.kernel.mdev.mdevs, what='removed')
    # All ended: the caller may start jobs again.
    _, job = create(daemon, type_='mtty-1', uuid=uuid(0))
    assert daemon.wait_job(job)['State'] == 'completed'
    other.close()


class Inotify:
    """Which files of a directory are opened (inotify's IN_OPEN)."""

    IN_OPEN = 0x20
    IN_NONBLOCK = 0o4000

    def __init__(self, path):
        import ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(self.IN_NONBLOCK)
        assert self.fd >= 0
        assert self.libc.inotify_add_watch(self.fd, path.encode(), self.IN_OPEN) >= 0

    def opened(self):
        """Names opened since the last call ('' for the directory itself)."""
        import struct
        names = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return names
            while data:
                _, _, _, length = struct.unpack('iIII', data[:16])
                names.append(data[16:16 + length].rstrip(b'\0').decode())
                data = data[16 + length:]

    def close(self):
        os.close(self.fd)


def test_get_mdev_of_an_unknown_uuid_reads_no_definition(daemon, testbed):
    """A GetMdev (no authorization needed) of an unknown UUID used to read
    and parse every definition on the main loop; the directory monitor
    tells the daemon what changed, and a definition mdevctl wrote a moment
    ago is still found at once."""
    from test_errors import error_of
    from test_mdev_define import UUID2, install_fixture
    from test_mdev import UUID

    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID)
    assert daemon.mdev_props(UUID)['Defined'] == 1
    watch = Inotify(os.path.join(daemon.mdev_dir, 'mtty'))
    try:
        time.sleep(0.5)     # the monitor's own reload of the new file is over
        watch.opened()
        for _ in range(3):
            name, _ = error_of(daemon.manager().GetMdev, UUID2, opts())
            assert name == 'org.hostdevd1.Error.NotFound'
        assert watch.opened() == []
    finally:
        watch.close()
    # Written by mdevctl just now: found without waiting for the monitor.
    install_fixture(daemon, 'manual-no-attrs.json', 'mtty', UUID2)
    assert daemon.mdev_props(UUID2)['Defined'] == 1
