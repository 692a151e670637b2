#!/usr/bin/env python3
"""The scale benchmark (issue 17, P5) on the umockdev testbed.

    umockdev-wrapper /usr/bin/python3 tests/bench/scale.py   (make bench-testbed)

For each size of host -- empty (the standard testbed), 1,000 PCI devices
with 500 mdevs, 10,000 PCI devices with 5,000 mdevs (running and defined;
tests/integration/scale_testbed.py builds them) -- the real hostdevd is
started on a private system bus with a mock polkit, as in the integration
tests, and measured:

  start-up   from the daemon's spawn to its bus name and a first answered
             GetDevice call; and the CPU time the daemon used until then
  RSS        VmRSS once started and idle (the highest seen)
  idle CPU   the daemon's user + system time over IDLE_S seconds of idling,
             from SETTLE_S (5) seconds after start-up
  read       Properties.GetAll of PCI devices, mdevs and mdev types by
             1, 10 and 100 clients at once (hdd-bench-reader: a process and
             a connection each, a random 0-100 ms between calls), p50/p99
  create     CreateMdev of an mtty-1 until the Job's Completed arrives, on a
             persistent connection (median of CYCLES; then removed, untimed)
  bind       BindVfio of 0000:01:00.0 (e1000e) until Completed (median;
             then restored, untimed)

Times are taken with time.perf_counter() (CLOCK_MONOTONIC), never a process.
A benchmark never fails on speed: it fails only when an operation did not
do what it should (the job failed, the mdev or the binding is not in sysfs).
Environment: HOSTDEVD_BUILD_DIR, SCALE_HOSTDEVD (the daemon binary),
SCALE_VERBOSE and SCALE_KEEP_LOG (the daemon's log, with --verbose), SCALE_SIZES (e.g. "empty,10k"),
SCALE_IDLE_S (10), SCALE_READ_S (5), SCALE_CYCLES (5).
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))

import dbus  # noqa: E402
import dbusmock  # noqa: E402
from gi.repository import Gio, GLib  # noqa: E402

# The testbed's files on tmpfs where there is one: syscalls on this kind of
# machine cost tens of microseconds, a disk's more.
if os.path.isdir('/dev/shm') and 'TMPDIR' not in os.environ:
    os.environ['TMPDIR'] = '/dev/shm'

import scale_testbed  # noqa: E402
from conftest import ALL_ACTIONS, BUILD, BUS_NAME, HOSTDEVD, Daemon  # noqa: E402
from testbed import FakeKernel, hypervisor_testbed  # noqa: E402

READER = os.path.join(BUILD, 'tests', 'bench', 'hdd-bench-reader')
# Another daemon binary (an older build, for the figures "before").
DAEMON = os.environ.get('SCALE_HOSTDEVD', HOSTDEVD)
IDLE_S = float(os.environ.get('SCALE_IDLE_S', '10'))
READ_S = float(os.environ.get('SCALE_READ_S', '5'))
CYCLES = int(os.environ.get('SCALE_CYCLES', '5'))
SETTLE_S = 5
SIZES = [  # name, PCI devices, mdevs (running and defined)
    ('empty', 0, 0),
    ('1k', 1000, 500),
    ('10k', 10000, 5000),
]
CLIENTS = (1, 10, 100)
NIC = '0000:01:00.0'


class Failed(Exception):
    pass


class BenchDaemon(Daemon):
    """The daemon as a distribution runs it: no --verbose, no
    MALLOC_PERTURB_, and spawned directly (umockdev's preload is inherited)."""

    def env(self):
        env = super().env()
        env.pop('MALLOC_PERTURB_', None)
        env.pop('G_DEBUG', None)
        return env

    def spawn(self):
        log = open(self.log_path, 'a')
        verbose = ['--verbose'] if os.environ.get('SCALE_VERBOSE') else []
        self.proc = subprocess.Popen([DAEMON] + verbose, env=self.env(), stdout=log,
                                     stderr=subprocess.STDOUT)


class Client:
    """A persistent GDBus connection that calls and waits for a Job's
    Completed signal (subscribed before the call: no race)."""

    def __init__(self, address):
        self.bus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.completed = {}
        self.bus.signal_subscribe(BUS_NAME, 'org.hostdevd1.Job', 'Completed', None, None,
                                  Gio.DBusSignalFlags.NONE, self._on_completed)

    def _on_completed(self, bus, sender, path, iface, signal, params):
        self.completed[path] = params.unpack()

    def call(self, path, iface, method, args):
        return self.bus.call_sync(BUS_NAME, path, iface, method, args, None,
                                  Gio.DBusCallFlags.NONE, 60000, None).unpack()

    def wait(self, job, timeout=60):
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while job not in self.completed:
            if time.monotonic() > deadline:
                raise Failed('job %s did not complete' % job)
            ctx.iteration(True)
        ok, message = self.completed.pop(job)
        if not ok:
            raise Failed('job %s failed: %s' % (job, message))


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime, stime


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def start(daemon, client_bus):
    t0 = time.perf_counter()
    daemon.spawn()
    while not client_bus.name_has_owner(BUS_NAME):
        if daemon.proc.poll() is not None:
            raise Failed('hostdevd exited: ' + daemon.log())
        time.sleep(0.002)
    daemon.manager().GetDevice(NIC, dbus.Dictionary({}, signature='sv'))
    return time.perf_counter() - t0


def read_latency(address, clients, paths):
    r = subprocess.run([READER, address, str(clients), str(READ_S)] + paths,
                       capture_output=True, text=True, timeout=READ_S * 10 + 120)
    if r.returncode != 0:
        raise Failed('read calls failed: ' + r.stderr[-2000:])
    lat = [int(x) / 1000 for x in r.stdout.split()]
    if not lat:
        raise Failed('no read call completed')
    return percentile(lat, 50), percentile(lat, 99), len(lat)


def create_cycle(client, tb):
    t0 = time.perf_counter()
    mdev, job = client.call('/org/hostdevd1', 'org.hostdevd1.Manager', 'CreateMdev',
                            GLib.Variant('(sssa(ss)a{sv})', ('mtty', 'mtty-1', '', [], {})))
    client.wait(job)
    dt = time.perf_counter() - t0
    uuid = mdev.rsplit('/', 1)[1].replace('_', '-')
    if uuid not in tb.mdevs():
        raise Failed('mdev %s completed but is not in sysfs' % uuid)
    (job,) = client.call(mdev, 'org.hostdevd1.Mdev', 'Remove', GLib.Variant('(a{sv})', ({},)))
    client.wait(job)
    if uuid in tb.mdevs():
        raise Failed('mdev %s removed but still in sysfs' % uuid)
    return dt


def bind_cycle(client, tb, path):
    t0 = time.perf_counter()
    (job,) = client.call(path, 'org.hostdevd1.PciDevice', 'BindVfio',
                         GLib.Variant('(a{sv})', ({},)))
    client.wait(job)
    dt = time.perf_counter() - t0
    if tb.driver(NIC) != 'vfio-pci':
        raise Failed('BindVfio completed, the driver is %s' % tb.driver(NIC))
    (job,) = client.call(path, 'org.hostdevd1.PciDevice', 'Restore',
                         GLib.Variant('(a{sv})', ({},)))
    client.wait(job)
    if tb.driver(NIC) != 'e1000e':
        raise Failed('Restore completed, the driver is %s' % tb.driver(NIC))
    return dt


def measure(size, n_pci, n_mdevs, bus, address):
    work = tempfile.mkdtemp(prefix='hostdevd-scale-')
    mdev_dir = os.path.join(work, 'mdevctl.d')
    tb = hypervisor_testbed()
    t0 = time.perf_counter()
    uuids = scale_testbed.build_host(tb, mdev_dir, n_pci, n_mdevs, n_mdevs)
    built = time.perf_counter() - t0
    kernel = FakeKernel(tb).start()
    state = os.path.join(work, 'state')
    os.mkdir(state)
    daemon = BenchDaemon(bus, tb, state, os.path.join(work, 'hostdevd.log'), mdev_dir)
    row = dict(size=size, pci=len(tb.devices), mdevs=n_mdevs, built=built)
    try:
        row['startup'] = start(daemon, bus)
        pid = daemon.proc.pid
        # The CPU time it took, which other load on the machine does not
        # stretch as it stretches the wall-clock time.
        row['startup_cpu'] = cpu_ticks(pid) / os.sysconf('SC_CLK_TCK')
        row['parts'] = startup_parts(os.path.join(work, 'hostdevd.log'))
        # What start-up left to threads (driver_override reads) ends first.
        time.sleep(SETTLE_S)
        row['rss'] = rss_kib(pid) / 1024
        c0, w0 = cpu_ticks(pid), time.perf_counter()
        time.sleep(IDLE_S)
        row['idle'] = 100 * (cpu_ticks(pid) - c0) / os.sysconf('SC_CLK_TCK') / (
            time.perf_counter() - w0)
        row['rss'] = max(row['rss'], rss_kib(pid) / 1024)
        paths = ['/org/hostdevd1/pci/0000_01_00_0#org.hostdevd1.PciDevice',
                 '/org/hostdevd1/mdev_type/mtty/mtty_2d1#org.hostdevd1.MdevType']
        for i in range(0, n_pci, max(1, n_pci // 50)):
            a = scale_testbed.pci_address(i)
            paths.append('/org/hostdevd1/pci/%s#org.hostdevd1.PciDevice'
                         % a.replace(':', '_').replace('.', '_'))
        for u in uuids[::max(1, len(uuids) // 50)]:
            paths.append('/org/hostdevd1/mdev/%s#org.hostdevd1.Mdev' % u.replace('-', '_'))
        for n in CLIENTS:
            row['read%d' % n] = read_latency(address, n, paths)
        client = Client(address)
        nic_path = daemon.device_path(NIC)
        row['create'] = statistics.median(create_cycle(client, tb) for _ in range(CYCLES))
        row['bind'] = statistics.median(bind_cycle(client, tb, nic_path) for _ in range(CYCLES))
        row['rss'] = max(row['rss'], rss_kib(pid) / 1024)
    finally:
        daemon.stop()
        kernel.stop()
        if os.environ.get('SCALE_KEEP_LOG'):
            subprocess.run(['cp', os.path.join(work, 'hostdevd.log'), os.environ['SCALE_KEEP_LOG']])
        subprocess.run(['rm', '-rf', work])
        del tb.tb   # umockdev removes its root
    return row


def startup_parts(log):
    """The start-up's parts the daemon logs: udev's listing of the PCI
    devices, their objects, the mdev half (seconds; None when not found)."""
    with open(log, errors='replace') as f:
        text = f.read()
    pci = re.search(r'udev listed them in ([0-9.]+) s, their objects took ([0-9.]+) s', text)
    mdev = re.search(r'mdevs \(definitions in .*; read in ([0-9.]+) s\)', text)
    return (float(pci.group(1)) if pci else None, float(pci.group(2)) if pci else None,
            float(mdev.group(1)) if mdev else None)


def seconds(v):
    return '-' if v is None else '%.2f' % v


def table(rows):
    head = ('| size | PCI devices | mdevs | start-up s (CPU s) | udev listing / PCI objects / '
            'mdevs, s | RSS MiB | idle CPU % | '
            + ' | '.join('read p50/p99 ms, %d client%s' % (n, 's' if n > 1 else '')
                         for n in CLIENTS)
            + ' | CreateMdev ms | BindVfio ms |')
    lines = [head, '|' + '---|' * head.count(' | ') + '---|']
    for r in rows:
        reads = ' | '.join('%.2f / %.2f' % r['read%d' % n][:2] for n in CLIENTS)
        lines.append('| %s | %d | %d | %.2f (%.2f) | %s | %.1f | %.2f | %s | %.1f | %.1f |'
                     % (r['size'], r['pci'], r['mdevs'], r['startup'], r['startup_cpu'],
                        ' / '.join(seconds(v) for v in r['parts']), r['rss'], r['idle'],
                        reads, r['create'] * 1000, r['bind'] * 1000))
    return '\n'.join(lines)


def main():
    if 'UMOCKDEV_DIR' not in os.environ and 'umockdev' not in os.environ.get('LD_PRELOAD', ''):
        sys.exit('run me under umockdev-wrapper')
    for p in (DAEMON, READER):
        if not os.path.exists(p):
            sys.exit('%s is missing: build first (HOSTDEVD_BUILD_DIR)' % p)
    wanted = os.environ.get('SCALE_SIZES')
    sizes = [s for s in SIZES if not wanted or s[0] in wanted.split(',')]
    dbusmock.DBusTestCase.start_system_bus()
    bus = dbusmock.DBusTestCase.get_dbus(system_bus=True)
    address = os.environ['DBUS_SYSTEM_BUS_ADDRESS']
    polkitd, polkit = dbusmock.DBusTestCase.spawn_server_template(
        'polkitd', {}, stdout=subprocess.DEVNULL)
    polkit.SetAllowed(ALL_ACTIONS)
    rows = []
    try:
        for size, n_pci, n_mdevs in sizes:
            rows.append(measure(size, n_pci, n_mdevs, bus, address))
            r = rows[-1]
            print('%s: built in %.1f s, start-up %.2f s, RSS %.1f MiB, idle %.2f %%, '
                  'reads (n) %s' % (size, r['built'], r['startup'], r['rss'], r['idle'],
                                     [r['read%d' % n][2] for n in CLIENTS]),
                  file=sys.stderr, flush=True)
    finally:
        polkitd.terminate()
        polkitd.wait()
        dbusmock.DBusTestCase.tearDownClass()
    print('Scale on the testbed (idle %g s, reads %g s per client count, %d create/bind '
          'cycles, medians)\n' % (IDLE_S, READ_S, CYCLES))
    print(table(rows))


if __name__ == '__main__':
    main()
