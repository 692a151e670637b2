#!/usr/bin/python3
"""Every path to the same work, side by side in one run, on the umockdev
testbed of the integration tests (docs/bench.md, "The paths on the testbed").

Run under umockdev-wrapper (make bench-paths).  The real hostdevd and the
real hostdevctl on a private system bus with a mock polkitd, against the
testbed whose kernel part (tests/integration/testbed.py) is played by
threads of this process, as in the integration tests.  The paths:

- sysfs:      the writes themselves from this process, then a wait (polled
              every 0.2 ms) until sysfs shows the result: the kernel's part
              of the work, which every other path waits for too;
- mdevctl /
  driverctl:  one process per operation (mdevctl 1.2, driverctl --nosave),
              timed until the process exited and sysfs shows the result;
- D-Bus:      one persistent connection: the method call, then the Job's
              Completed signal (subscribed before the call);
- hostdevctl: one process per operation, as a person or a script runs it;
- batch:      the whole set through one client (hostdevctl with several
              arguments or a file; the D-Bus client with every call made
              before the first wait).

Every time is taken with time.perf_counter() in this process.  Nothing here
passes or fails on speed: the script fails (exit 1) only when an operation
did not do what it should (each one is checked in sysfs).
"""

import argparse
import ctypes
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))

import dbusmock  # noqa: E402
import gi  # noqa: E402
from gi.repository import Gio, GLib  # noqa: E402

from conftest import ALL_ACTIONS, BUS_NAME, HOSTDEVCTL, Daemon  # noqa: E402
from testbed import FakeKernel, hypervisor_testbed  # noqa: E402

gi.require_version('Gio', '2.0')

PARENT = 'mtty'
TYPE = 'mtty-1'
BATCH_PARENT = 'mbench'
BATCH_TYPE = 'mbench-64'
NIC = '0000:01:00.0'
BATCH_NICS = ['0000:%02x:00.0' % (0x40 + i) for i in range(16)]
# umockdev sends each uevent to the daemon's sockets without waiting, and
# aborts when one is full: a unix datagram socket is with
# net.unix.max_dgram_qlen (10) unread, and 16 binds at once make 32 uevents
# within milliseconds (a burst the real kernel's netlink takes, or drops and
# says so).  The benchmark runs in a network namespace of its own, whose
# limit it raises: nothing outside it changes.
DGRAM_QLEN = 1024
QLEN_SYSCTL = '/proc/sys/net/unix/max_dgram_qlen'


class Failed(Exception):
    """An operation did not do what it should: the benchmark fails."""


class Inotify:
    """Wakes a wait when a directory changes: the fake kernel runs in this
    process's threads, and a poll loop here would take the GIL from it at
    every wake-up (and so slow down the very thing it times)."""

    _libc = ctypes.CDLL(None, use_errno=True)
    MASK = 0x100 | 0x200 | 0x40 | 0x80 | 0x4     # CREATE DELETE MOVED_FROM/TO ATTRIB

    def __init__(self):
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        self.watched = set()

    def watch(self, directory):
        if directory in self.watched:
            return
        if self._libc.inotify_add_watch(self.fd, directory.encode(), self.MASK) < 0:
            raise OSError(ctypes.get_errno(), 'inotify_add_watch ' + directory)
        self.watched.add(directory)

    def wait(self, timeout):
        if select.select([self.fd], [], [], timeout)[0]:
            try:
                os.read(self.fd, 65536)
            except BlockingIOError:
                pass


INOTIFY = None


def wait_until(predicate, what, timeout=10.0, watch=None):
    """Until @predicate holds; woken by changes in the directories @watch,
    and at least every 5 ms."""
    for d in watch or ():
        INOTIFY.watch(d)
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise Failed('timed out waiting for ' + what)
        INOTIFY.wait(0.005)


class Bench:
    def __init__(self, cycles, warmup):
        self.cycles = cycles
        self.warmup = warmup
        self.results = {}          # (table, path) -> {column: [seconds]}

    # -- the testbed, the bus, the daemon ----------------------------------
    def setup(self):
        dbusmock.DBusTestCase.start_system_bus()
        self.bus = dbusmock.DBusTestCase.get_dbus(system_bus=True)
        self.polkit_proc, polkit = dbusmock.DBusTestCase.spawn_server_template(
            'polkitd', {}, stdout=subprocess.DEVNULL)
        polkit.SetAllowed(ALL_ACTIONS)
        self.tb = hypervisor_testbed()
        # A parent with room for the batch of 64, and 16 lone NICs for the
        # batch of bindings, each in an IOMMU group of its own.
        self.tb.add_mdev_parent(BATCH_PARENT, '/sys/devices/virtual/mtty/' + BATCH_PARENT, 'mtty',
                                {BATCH_TYPE: dict(name='Bench', description='bench',
                                                  device_api='vfio-pci', instances=128)})
        for i, address in enumerate(BATCH_NICS):
            self.tb.add_pci(address, 40 + i, 'e1000e')
        # driverctl loads the module when /sys/module/DRIVER is missing.
        os.makedirs(self.tb.path('/sys/module/vfio-pci'), exist_ok=True)
        self.kernel = FakeKernel(self.tb).start()
        # Where mdevs appear (made by umockdev with the first one otherwise),
        # watched by the waits of the sysfs path.
        self.mdev_bus = self.tb.path('/sys/bus/mdev/devices')
        os.makedirs(self.mdev_bus, exist_ok=True)
        global INOTIFY
        INOTIFY = Inotify()
        self.tb.kernel = self.kernel
        self.tmp = tempfile.mkdtemp(prefix='hostdevd-bench-')
        state = os.path.join(self.tmp, 'state')
        os.makedirs(state)
        self.daemon = Daemon(self.bus, self.tb, state, os.path.join(self.tmp, 'hostdevd.log'))
        # As installed: a root caller is not asked about (hdd-authority.c).
        self.daemon.polkit_for_root = False
        self.daemon.start()
        self.conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
        self.completed = {}
        self.conn.signal_subscribe(None, 'org.hostdevd1.Job', 'Completed', None, None,
                                   Gio.DBusSignalFlags.NONE, self._on_completed)
        self.ctl_env = self.daemon.env()
        self.ctl_env.pop('UMOCKDEV_DIR')
        # mdevctl and driverctl work on sysfs: they see the testbed.
        self.tool_env = dict(self.daemon.env())

    def teardown(self):
        self.daemon.stop()
        self.kernel.stop()
        self.polkit_proc.terminate()
        self.polkit_proc.wait()
        dbusmock.DBusTestCase.tearDownClass()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- D-Bus, one persistent connection ----------------------------------
    def _on_completed(self, conn, sender, path, iface, signal, params):
        self.completed[path] = params.unpack()

    def call(self, path, iface, method, args, sig):
        reply = self.conn.call_sync(BUS_NAME, path, iface, method,
                                    GLib.Variant(sig, args), None,
                                    Gio.DBusCallFlags.NONE, -1, None)
        return reply.unpack()

    def wait_job(self, job):
        ctx = GLib.MainContext.default()
        deadline = time.perf_counter() + 30
        while job not in self.completed:
            if time.perf_counter() > deadline:
                raise Failed('no Completed from ' + job)
            ctx.iteration(True)
        ok, message = self.completed.pop(job)
        if not ok:
            raise Failed('%s failed: %s' % (job, message))

    def pipelined(self, items, start, window=16):
        """Every call made before the first wait, at most @window jobs at
        a time: the daemon's limit per caller (docs/dbus-api.md)."""
        running = []
        for item in items:
            while len(running) >= window:
                self.wait_job(running.pop(0))
            running.append(start(item))
        for job in running:
            self.wait_job(job)

    def dbus_create(self, uuid, parent=PARENT, type_=TYPE):
        _, job = self.call('/org/hostdevd1', 'org.hostdevd1.Manager', 'CreateMdev',
                           (parent, type_, uuid, [], {}), '(sssa(ss)a{sv})')
        return job

    def mdev_path(self, uuid):
        return '/org/hostdevd1/mdev/' + uuid.replace('-', '_')

    def dbus_remove(self, uuid):
        return self.call(self.mdev_path(uuid), 'org.hostdevd1.Mdev', 'Remove', ({},), '(a{sv})')[0]

    def device_path(self, address):
        return '/org/hostdevd1/pci/' + address.replace(':', '_').replace('.', '_')

    def dbus_bind(self, address):
        return self.call(self.device_path(address), 'org.hostdevd1.PciDevice', 'BindVfio',
                         ({},), '(a{sv})')[0]

    def dbus_restore(self, address):
        return self.call(self.device_path(address), 'org.hostdevd1.PciDevice', 'Restore',
                         ({},), '(a{sv})')[0]

    # -- what each operation must have done ---------------------------------
    def mdev_exists(self, uuid):
        return os.path.exists(self.tb.mdev_dir(uuid))

    def check_mdev(self, uuid, active):
        if self.mdev_exists(uuid) != active:
            raise Failed('mdev %s should %sexist' % (uuid, '' if active else 'not '))

    def check_driver(self, address, driver):
        if self.tb.driver(address) != driver:
            raise Failed('%s is on %s, not %s' % (address, self.tb.driver(address), driver))

    # -- processes ------------------------------------------------------------
    def run(self, argv, env, tolerate=None):
        r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0 and not (tolerate and tolerate in r.stderr):
            raise Failed('%s: exit %d: %s%s' % (' '.join(argv), r.returncode, r.stdout, r.stderr))

    def driverctl(self, *args):
        """driverctl checks the driver link right after its drivers_probe
        write, which the real kernel handles before the write returns and
        the testbed's fake kernel a few ms later: that complaint is not a
        failure here, the caller waits for the driver as for every path."""
        self.run(['driverctl', '--nosave'] + list(args), self.tool_env,
                 tolerate='driverctl: failed to bind device')

    def ctl(self, *args):
        self.run([HOSTDEVCTL] + list(args), self.ctl_env)

    # -- the raw sysfs writes ----------------------------------------------
    def raw_write(self, path, value):
        with open(self.tb.path(path), 'w') as f:
            f.write(value)

    def raw_create(self, uuid, parent=PARENT, type_=TYPE):
        self.raw_write('/sys/class/mdev_bus/%s/mdev_supported_types/%s/create' % (parent, type_),
                       uuid)
        wait_until(lambda: self.mdev_exists(uuid), 'mdev %s' % uuid, watch=[self.mdev_bus])

    def raw_remove(self, uuid):
        self.raw_write('/sys/bus/mdev/devices/%s/remove' % uuid, '1')
        wait_until(lambda: not self.mdev_exists(uuid), 'mdev %s gone' % uuid,
                   watch=[self.mdev_bus])

    def raw_bind(self, address):
        self.raw_write('/sys/bus/pci/devices/%s/driver_override' % address, 'vfio-pci')
        self.raw_write('/sys/bus/pci/drivers/e1000e/unbind', address)
        self.raw_write('/sys/bus/pci/drivers_probe', address)
        wait_until(lambda: self.tb.driver(address) == 'vfio-pci', address + ' on vfio-pci',
                   watch=[self.tb.dev_path(address)])

    def raw_restore(self, address):
        self.raw_write('/sys/bus/pci/devices/%s/driver_override' % address, '\n')
        self.raw_write('/sys/bus/pci/drivers/vfio-pci/unbind', address)
        wait_until(lambda: self.tb.driver(address) is None, address + ' unbound',
                   watch=[self.tb.dev_path(address)])
        self.raw_write('/sys/bus/pci/drivers/e1000e/bind', address)
        wait_until(lambda: self.tb.driver(address) == 'e1000e', address + ' on e1000e',
                   watch=[self.tb.dev_path(address)])

    # -- timing -----------------------------------------------------------------
    def record(self, table, path, column, seconds):
        self.results.setdefault((table, path), {}).setdefault(column, []).append(seconds)

    def cycles_of(self, table, path, first, second, labels, make_key, check):
        """Warm-up cycles, then the timed ones, of @first and @second."""
        for i in range(self.warmup + self.cycles):
            key = make_key()
            for fn, label, state in ((first, labels[0], True), (second, labels[1], False)):
                t0 = time.perf_counter()
                fn(key)
                elapsed = time.perf_counter() - t0
                check(key, state)
                if i >= self.warmup:
                    self.record(table, path, label, elapsed)

    # -- the single-operation table (P1/P2, CLI) ----------------------------
    def mdev_paths(self):
        table = 'mdev'
        labels = ('create', 'remove')
        new = lambda: str(uuidlib.uuid4())  # noqa: E731
        check = self.check_mdev

        def dbus_create(u):
            self.wait_job(self.dbus_create(u))

        def dbus_remove(u):
            self.wait_job(self.dbus_remove(u))

        def mdevctl_start(u):
            self.run(['mdevctl', 'start', '-p', PARENT, '-t', TYPE, '-u', u], self.tool_env)
            wait_until(lambda: self.mdev_exists(u), 'mdev ' + u, watch=[self.mdev_bus])

        def mdevctl_stop(u):
            self.run(['mdevctl', 'stop', '-u', u], self.tool_env)
            wait_until(lambda: not self.mdev_exists(u), 'mdev %s gone' % u,
                       watch=[self.mdev_bus])

        self.cycles_of(table, 'sysfs write', self.raw_create, self.raw_remove, labels, new, check)
        self.cycles_of(table, 'mdevctl', mdevctl_start, mdevctl_stop, labels, new, check)
        self.cycles_of(table, 'D-Bus call + Completed', dbus_create, dbus_remove, labels, new,
                       check)
        self.cycles_of(table, 'hostdevctl',
                       lambda u: self.ctl('mdev', 'create', PARENT, TYPE, '--uuid', u),
                       lambda u: self.ctl('mdev', 'remove', u), labels, new, check)

    def bind_paths(self):
        table = 'bind'
        labels = ('bind', 'restore')
        check = lambda a, bound: self.check_driver(a, 'vfio-pci' if bound else 'e1000e')  # noqa: E731

        def dbus_bind(a):
            self.wait_job(self.dbus_bind(a))

        def dbus_restore(a):
            self.wait_job(self.dbus_restore(a))

        def driverctl_set(a):
            self.driverctl('set-override', a, 'vfio-pci')
            wait_until(lambda: self.tb.driver(a) == 'vfio-pci', a + ' on vfio-pci',
                       watch=[self.tb.dev_path(a)])

        def driverctl_unset(a):
            self.driverctl('unset-override', a)
            wait_until(lambda: self.tb.driver(a) == 'e1000e', a + ' on e1000e',
                       watch=[self.tb.dev_path(a)])

        nic = lambda: NIC  # noqa: E731
        self.cycles_of(table, 'sysfs write', self.raw_bind, self.raw_restore, labels, nic, check)
        self.cycles_of(table, 'driverctl', driverctl_set, driverctl_unset, labels, nic, check)
        self.cycles_of(table, 'D-Bus call + Completed', dbus_bind, dbus_restore, labels, nic,
                       check)
        self.cycles_of(table, 'hostdevctl', lambda a: self.ctl('bind', a),
                       lambda a: self.ctl('restore', a), labels, nic, check)

    # -- batches ---------------------------------------------------------------
    def batch_mdevs(self, rounds):
        table = 'batch-mdev'
        n = 64

        def each(uuids, fn):
            for u in uuids:
                fn(u)

        def mdevctl_start(u):
            self.run(['mdevctl', 'start', '-p', BATCH_PARENT, '-t', BATCH_TYPE, '-u', u],
                     self.tool_env)

        def mdevctl_stop(u):
            self.run(['mdevctl', 'stop', '-u', u], self.tool_env)

        def dbus_all(uuids, start):
            self.pipelined(uuids, start)

        def ctl_create(uuids):
            spec = os.path.join(self.tmp, 'mdevs')
            with open(spec, 'w') as f:
                for u in uuids:
                    f.write('%s %s %s\n' % (BATCH_PARENT, BATCH_TYPE, u))
            self.ctl('mdev', 'create', '--file', spec)

        paths = [
            # Every write, then the wait for all (the timed section waits
            # for them after every path): the kernel's part alone.
            ('sysfs writes',
             lambda us: each(us, lambda u: self.raw_write(
                 '/sys/class/mdev_bus/%s/mdev_supported_types/%s/create'
                 % (BATCH_PARENT, BATCH_TYPE), u)),
             lambda us: each(us, lambda u: self.raw_write(
                 '/sys/bus/mdev/devices/%s/remove' % u, '1'))),
            ('%d × mdevctl start / stop' % n, lambda us: each(us, mdevctl_start),
             lambda us: each(us, mdevctl_stop)),
            ('%d × hostdevctl' % n,
             lambda us: each(us, lambda u: self.ctl('mdev', 'create', BATCH_PARENT, BATCH_TYPE,
                                                    '--uuid', u)),
             lambda us: each(us, lambda u: self.ctl('mdev', 'remove', u))),
            ('D-Bus, 16 calls ahead of the Completed',
             lambda us: dbus_all(us, lambda u: self.dbus_create(u, BATCH_PARENT, BATCH_TYPE)),
             lambda us: dbus_all(us, self.dbus_remove)),
            ('hostdevctl batch (one process)', ctl_create,
             lambda us: self.ctl('mdev', 'remove', *us)),
        ]
        for _ in range(rounds):
            for name, create, remove in paths[:None if self.cli_batch else -1]:
                uuids = [str(uuidlib.uuid4()) for _ in range(n)]
                # Timed until sysfs shows every one done, whatever the path.
                t0 = time.perf_counter()
                create(uuids)
                wait_until(lambda: all(self.mdev_exists(u) for u in uuids), 'the batch created',
                           timeout=60, watch=[self.mdev_bus])
                self.record(table, name, 'create', time.perf_counter() - t0)
                t0 = time.perf_counter()
                remove(uuids)
                wait_until(lambda: not any(self.mdev_exists(u) for u in uuids),
                           'the batch removed', timeout=60, watch=[self.mdev_bus])
                self.record(table, name, 'remove', time.perf_counter() - t0)

    def batch_binds(self, rounds):
        table = 'batch-bind'
        nics = BATCH_NICS
        dirs = [self.tb.dev_path(a) for a in nics]

        def each(fn):
            for a in nics:
                fn(a)

        def dbus_all(start):
            self.pipelined(nics, start)

        def on(driver):
            return lambda: all(self.tb.driver(a) == driver for a in nics)

        # Every device's writes, then the wait for all (below): the
        # kernel's part alone.  A restore's bind must follow its unbind.
        def raw_bind(a):
            self.raw_write('/sys/bus/pci/devices/%s/driver_override' % a, 'vfio-pci')
            self.raw_write('/sys/bus/pci/drivers/e1000e/unbind', a)
            self.raw_write('/sys/bus/pci/drivers_probe', a)

        def raw_restore_all():
            for a in nics:
                self.raw_write('/sys/bus/pci/devices/%s/driver_override' % a, '\n')
                self.raw_write('/sys/bus/pci/drivers/vfio-pci/unbind', a)
            wait_until(on(None), 'the batch unbound', watch=dirs)
            for a in nics:
                self.raw_write('/sys/bus/pci/drivers/e1000e/bind', a)

        paths = [
            ('sysfs writes', lambda: each(raw_bind), raw_restore_all),
            ('%d × driverctl set / unset-override' % len(nics),
             lambda: each(lambda a: self.driverctl('set-override', a, 'vfio-pci')),
             lambda: each(lambda a: self.driverctl('unset-override', a))),
            ('%d × hostdevctl' % len(nics), lambda: each(lambda a: self.ctl('bind', a)),
             lambda: each(lambda a: self.ctl('restore', a))),
            ('D-Bus, 16 calls ahead of the Completed', lambda: dbus_all(self.dbus_bind),
             lambda: dbus_all(self.dbus_restore)),
            ('hostdevctl batch (one process)', lambda: self.ctl('bind', *nics),
             lambda: self.ctl('restore', *nics)),
        ]
        for _ in range(rounds):
            for name, bind, restore in paths[:None if self.cli_batch else -1]:
                t0 = time.perf_counter()
                bind()
                wait_until(on('vfio-pci'), 'the batch bound', timeout=60, watch=dirs)
                self.record(table, name, 'bind', time.perf_counter() - t0)
                t0 = time.perf_counter()
                restore()
                wait_until(on('e1000e'), 'the batch restored', timeout=60, watch=dirs)
                self.record(table, name, 'restore', time.perf_counter() - t0)

    # -- output -------------------------------------------------------------------
    def table(self, table, columns, title, unit=1e3, unit_name='ms'):
        print('\n### %s\n' % title)
        head = ['path'] + ['%s %s median' % (c, unit_name) for c in columns] + \
               ['%s p90' % c for c in columns] + ['n']
        print('| ' + ' | '.join(head) + ' |')
        print('|' + '|'.join('---' for _ in head) + '|')
        base = None
        for (t, path), cols in self.results.items():
            if t != table:
                continue
            med = [statistics.median(cols[c]) * unit for c in columns]
            p90 = [quantile(cols[c], 0.9) * unit for c in columns]
            if base is None:
                base = med
            ratio = ' (%s)' % ' / '.join('%.1f×' % (m / b) for m, b in zip(med, base))
            row = [path + (ratio if path != 'sysfs write' and path != 'sysfs writes' else '')]
            row += ['%.1f' % m for m in med] + ['%.1f' % p for p in p90]
            row.append(str(len(cols[columns[0]])))
            print('| ' + ' | '.join(row) + ' |')


def quantile(values, q):
    v = sorted(values)
    if len(v) == 1:
        return v[0]
    return statistics.quantiles(v, n=10, method='inclusive')[int(q * 10) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cycles', type=int, default=int(os.environ.get('BENCH_CYCLES', 30)))
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--batch-rounds', type=int, default=int(os.environ.get('BENCH_BATCH_ROUNDS',
                                                                           3)))
    ap.add_argument('--only', choices=('single', 'batch'), default=None)
    ap.add_argument('--no-cli-batch', action='store_true',
                    help='leave out the hostdevctl batch rows (a hostdevctl without them)')
    args = ap.parse_args()
    if os.environ.get('HOSTDEVD_BENCH_NETNS') != '1':
        env = dict(os.environ, HOSTDEVD_BENCH_NETNS='1')
        os.execvpe('unshare', ['unshare', '--net', '--', sys.executable] + sys.argv, env)
    with open(QLEN_SYSCTL, 'w') as f:
        f.write('%d\n' % DGRAM_QLEN)
    if 'UMOCKDEV_DIR' in os.environ or not os.environ.get('LD_PRELOAD', '').count('umockdev'):
        sys.exit('run under umockdev-wrapper (make bench-paths)')

    b = Bench(args.cycles, args.warmup)
    b.cli_batch = not args.no_cli_batch
    sections = []
    if args.only in (None, 'single'):
        sections += [
            (b.mdev_paths, (), 'mdev', ('create', 'remove'), 'mdev create / remove, one at a time'),
            (b.bind_paths, (), 'bind', ('bind', 'restore'),
             'PCI bind to vfio-pci / restore, one at a time')]
    if args.only in (None, 'batch'):
        sections += [
            (b.batch_mdevs, (args.batch_rounds,), 'batch-mdev', ('create', 'remove'),
             '64 mdevs created / removed (%d rounds)' % args.batch_rounds),
            (b.batch_binds, (args.batch_rounds,), 'batch-bind', ('bind', 'restore'),
             '16 devices bound / restored (%d rounds)' % args.batch_rounds)]
    b.setup()
    print('## The paths on the testbed (%d cycles after %d warm-up; ratio to the sysfs row)'
          % (args.cycles, args.warmup), flush=True)
    try:
        # Each table as soon as its figures are in.
        for run, run_args, table, columns, title in sections:
            run(*run_args)
            b.table(table, columns, title)
            sys.stdout.flush()
    except Failed as e:
        print('FAILED: %s' % e, file=sys.stderr)
        print(b.daemon.log()[-4000:], file=sys.stderr)
        b.teardown()
        return 1
    b.teardown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
