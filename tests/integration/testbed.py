"""A umockdev testbed shaped like a hypervisor's /sys/bus/pci, and a fake
kernel that answers the daemon's sysfs writes.

Under umockdev the kernel does not react to writes, so FakeKernel plays its
part: it reads what hostdevd wrote to driver_override, unbind, bind and
drivers_probe, moves the `driver` links, creates /dev/vfio/N, and emits the
uevents the real kernel would.  An unbind from vfio-pci goes through a FIFO
that the fake kernel does not open while a test holds a device (see
FakeKernel.hold), so the daemon's write blocks exactly like the kernel's
vfio_unregister_group_dev() does while a user holds the device.
"""

import contextlib
import os
import stat
import threading
import time

import gi

gi.require_version('UMockdev', '1.0')
from gi.repository import UMockdev  # noqa: E402

from mdev_testbed import MTTY_TYPES, FakeMdevKernel, MdevTestbed  # noqa: E402

# What the real kernel would pick at probe time for each device.
NATIVE = {}


class Testbed(MdevTestbed):
    def __init__(self):
        self.tb = UMockdev.Testbed.new()
        self.root = self.tb.get_root_dir()
        self.sys = self.tb.get_sys_dir()
        self.devices = {}          # address -> syspath (/sys/devices/...)
        self.native = {}           # address -> driver the kernel would bind
        self.lock = threading.RLock()
        self._vfio_minor = 0
        for d in ('bus/pci/drivers', 'kernel/iommu_groups'):
            os.makedirs(os.path.join(self.sys, d), exist_ok=True)
        os.makedirs(os.path.join(self.root, 'dev/vfio/devices'), exist_ok=True)
        self._write(self.path('/sys/bus/pci/drivers_probe'), '')

    # -- paths ------------------------------------------------------------
    def path(self, p):
        """The real path of /sys/... or /dev/... inside the testbed."""
        assert p.startswith('/')
        return self.root + p

    def dev_path(self, address):
        return self.path('/sys/bus/pci/devices/' + address)

    @staticmethod
    def _write(p, text):
        with open(p, 'w') as f:
            f.write(text)

    @staticmethod
    def read(p):
        with open(p) as f:
            return f.read().strip()

    # -- building ---------------------------------------------------------
    def add_driver(self, name, blocking_unbind=False):
        d = self.path('/sys/bus/pci/drivers/' + name)
        os.makedirs(d, exist_ok=True)
        self._write(os.path.join(d, 'bind'), '')
        if blocking_unbind:
            os.mkfifo(os.path.join(d, 'unbind'))
        else:
            self._write(os.path.join(d, 'unbind'), '')

    def add_pci(self, address, group, driver=None, native=None,
                vendor=0x8086, device=0x10d3, cls=0x020000,
                vendor_name='Intel Corporation',
                device_name='82574L Gigabit Network Connection'):
        # One record, so that the links exist when the "add" uevent goes
        # out, as in the kernel (the IOMMU group is set up before it).
        lines = ['P: /devices/%s' % address, 'E: SUBSYSTEM=pci',
                 'E: PCI_SLOT_NAME=%s' % address, 'E: PCI_ID=%04X:%04X' % (vendor, device),
                 # As the kernel's uevent says them (pci_uevent()).
                 'E: PCI_SUBSYS_ID=%04X:0000' % vendor, 'E: PCI_CLASS=%X' % cls]
        if vendor_name:
            lines.append('E: ID_VENDOR_FROM_DATABASE=%s' % vendor_name)
        if device_name:
            lines.append('E: ID_MODEL_FROM_DATABASE=%s' % device_name)
        for k, v in (('vendor', '0x%04x' % vendor), ('device', '0x%04x' % device),
                     ('subsystem_vendor', '0x%04x' % vendor), ('subsystem_device', '0x0000'),
                     ('class', '0x%06x' % cls), ('driver_override', '(null)')):
            lines.append('A: %s=%s' % (k, v))
        if group is not None:
            gdir = self.path('/sys/kernel/iommu_groups/%d/devices' % group)
            os.makedirs(gdir, exist_ok=True)
            os.symlink('../../../devices/' + address, os.path.join(gdir, address))
            lines.append('L: iommu_group=../../kernel/iommu_groups/%d' % group)
        if driver:
            lines.append('L: driver=../../bus/pci/drivers/%s' % driver)
        self.tb.add_from_string('\n'.join(lines) + '\n')
        syspath = '/sys/devices/' + address
        self.devices[address] = syspath
        self.native[address] = native if native is not None else driver
        if driver == 'vfio-pci':
            self._vfio_bound(address)
        return syspath

    # -- state ------------------------------------------------------------
    def driver(self, address):
        link = os.path.join(self.dev_path(address), 'driver')
        try:
            return os.path.basename(os.readlink(link))
        except FileNotFoundError:
            return None

    def override(self, address):
        v = self.read(os.path.join(self.dev_path(address), 'driver_override'))
        return None if v in ('', '(null)') else v

    def group(self, address):
        try:
            return int(os.path.basename(os.readlink(
                os.path.join(self.dev_path(address), 'iommu_group'))))
        except FileNotFoundError:
            return None

    def group_members(self, group):
        return sorted(os.listdir(self.path('/sys/kernel/iommu_groups/%d/devices' % group)))

    def vfio_node(self, group):
        return self.path('/dev/vfio/%d' % group)

    def set_driver(self, address, driver, uevent=True):
        """Binds (or with None unbinds) as the kernel would, with uevent."""
        with self.lock:
            real = self.dev_path(address)
            link = os.path.join(real, 'driver')
            old = self.driver(address)
            if old == driver:
                return
            if old is not None:
                os.unlink(link)
                self._vfio_unbound(address)
                if uevent:
                    self.tb.uevent(self.devices[address], 'unbind')
            if driver is not None:
                os.symlink('../../bus/pci/drivers/' + driver, link)
                if driver == 'vfio-pci':
                    self._vfio_bound(address)
                if uevent:
                    self.tb.uevent(self.devices[address], 'bind')

    def _vfio_bound(self, address):
        group = self.group(address)
        if group is not None:
            node = self.vfio_node(group)
            if not os.path.exists(node):
                self._write(node, '')
        minor = self._vfio_minor
        self._vfio_minor += 1
        os.makedirs(os.path.join(self.dev_path(address), 'vfio-dev', 'vfio%d' % minor))
        self._write(self.path('/dev/vfio/devices/vfio%d' % minor), '')

    def _vfio_unbound(self, address):
        cdev_dir = os.path.join(self.dev_path(address), 'vfio-dev')
        if os.path.isdir(cdev_dir):
            for name in os.listdir(cdev_dir):
                os.rmdir(os.path.join(cdev_dir, name))
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path('/dev/vfio/devices/' + name))
            os.rmdir(cdev_dir)
        group = self.group(address)
        if group is None:
            return
        others = [m for m in self.group_members(group)
                  if m != address and self.driver(m) == 'vfio-pci']
        if not others:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.vfio_node(group))

    def remove_pci(self, address):
        group = self.group(address)
        if group is not None:
            os.unlink(self.path('/sys/kernel/iommu_groups/%d/devices/%s' % (group, address)))
        self.tb.uevent(self.devices[address], 'remove')
        self.tb.remove_device(self.devices[address])
        del self.devices[address]


class FakeKernel:
    """Answers hostdevd's sysfs writes as the PCI core would."""

    def __init__(self, testbed):
        self.tb = testbed
        self.stop_event = threading.Event()
        self.cond = threading.Condition()
        self.held = set()            # groups whose vfio-pci unbind blocks
        self.fail_probe = set()      # drivers that refuse to bind
        self.probe_delay = 0.0       # seconds a probe takes
        self.log = []                # (file, value) as written by the daemon
        self.threads = [threading.Thread(target=self._poll, daemon=True)]
        self.mdev = FakeMdevKernel(testbed, self.log)
        self.fifos = {}              # driver -> fd open O_RDWR on its unbind FIFO
        for drv in os.listdir(self.tb.path('/sys/bus/pci/drivers')):
            unbind = self.tb.path('/sys/bus/pci/drivers/%s/unbind' % drv)
            if stat.S_ISFIFO(os.stat(unbind).st_mode):
                # Opened read-write so that the daemon's open() never blocks:
                # the kernel blocks in write(), and so does this fake, by
                # keeping the pipe full while a device is held.
                self.fifos[drv] = os.open(unbind, os.O_RDWR | os.O_NONBLOCK)
                self.threads.append(threading.Thread(
                    target=self._serve_fifo, args=(drv,), daemon=True))
        # drivers_probe is a FIFO too: the real kernel handles every write,
        # a regular file would keep only the last of two jobs' probes.
        probe = self.tb.path('/sys/bus/pci/drivers_probe')
        os.unlink(probe)
        os.mkfifo(probe)
        self.probe_fd = os.open(probe, os.O_RDWR | os.O_NONBLOCK)
        self.probes = []             # addresses written to drivers_probe
        self.threads.append(threading.Thread(target=self._serve_probe, daemon=True))

    def start(self):
        for t in self.threads:
            t.start()
        self.mdev.start()
        return self

    def stop(self):
        self.stop_event.set()
        with self.cond:
            self.held.clear()
            self.cond.notify_all()
        for t in self.threads:
            t.join(timeout=5)
        for fd in self.fifos.values():
            os.close(fd)
        os.close(self.probe_fd)
        self.mdev.stop()

    # -- holding ------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self, address):
        """Opens the device's /dev/vfio/N like a VM would and keeps the
        kernel's unbind from vfio-pci blocked until the block ends."""
        group = self.tb.group(address)
        fd = os.open(self.tb.vfio_node(group), os.O_RDONLY)
        with self.cond:
            self.held.add(group)
            for pipe in self.fifos.values():
                self._fill(pipe)
        try:
            yield fd
        finally:
            os.close(fd)
            with self.cond:
                self.held.discard(group)
                self.cond.notify_all()

    def wait_writers_gone(self, timeout=20):
        """Waits until no process but this one has an unbind FIFO open: a
        daemon killed while its writer blocked in the unbind leaves that
        writer dying (PR_SET_PDEATHSIG is asynchronous), and one still alive
        when the hold ends would complete its write after all."""
        fifos = {self.tb.path('/sys/bus/pci/drivers/%s/unbind' % d) for d in self.fifos}
        deadline = time.monotonic() + timeout
        while True:
            writers = []
            for pid in filter(str.isdigit, os.listdir('/proc')):
                if int(pid) == os.getpid():
                    continue
                try:
                    fds = os.listdir('/proc/%s/fd' % pid)
                    targets = {os.readlink('/proc/%s/fd/%s' % (pid, fd)) for fd in fds}
                except OSError:
                    continue    # gone meanwhile
                if targets & fifos:
                    writers.append(int(pid))
            if not writers:
                return
            assert time.monotonic() < deadline, 'writers of the unbind FIFOs still alive: %s' % writers
            time.sleep(0.05)

    @staticmethod
    def _fill(fd):
        # Full to the last byte: any write of an address must then wait.
        for chunk in (4096, 1):
            try:
                while True:
                    os.write(fd, b'\0' * chunk)
            except BlockingIOError:
                pass

    def _serve_fifo(self, driver):
        fd = self.fifos[driver]
        pending = b''
        while not self.stop_event.is_set():
            with self.cond:
                while self.held and not self.stop_event.is_set():
                    self.cond.wait(0.1)
            try:
                pending += os.read(fd, 65536)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            pending = pending.lstrip(b'\0')
            # Addresses arrive back to back: the canonical form is 12 bytes.
            while len(pending) >= 12:
                address, pending = pending[:12].decode(), pending[12:].lstrip(b'\0')
                self.log.append(('/sys/bus/pci/drivers/%s/unbind' % driver, address))
                with self.tb.lock:
                    if self.tb.driver(address) == driver:
                        self.tb.set_driver(address, None)

    def _serve_probe(self):
        pending = b''
        while not self.stop_event.is_set():
            try:
                pending += os.read(self.probe_fd, 65536)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            while len(pending) >= 12:
                address, pending = pending[:12].decode(), pending[12:].lstrip(b'\0\n')
                with self.tb.lock:
                    self.probes.append(address)

    # -- polling regular attribute files -------------------------------------
    def _take(self, p, log=True):
        try:
            with open(p) as f:
                v = f.read().strip()
        except FileNotFoundError:
            return None
        if v:
            with open(p, 'w'):
                pass
            if log:
                self.log.append((p[len(self.tb.root):], v))
        return v or None

    def _probe(self, address, only=None):
        if address not in self.tb.devices:
            return
        override = self.tb.override(address)
        driver = only or override or self.tb.native.get(address)
        if only and override and only != override:
            return      # driver_override forbids any other driver
        if driver is None or driver in self.fail_probe:
            return
        time.sleep(self.probe_delay)
        self.tb.set_driver(address, driver)

    def _poll(self):
        drivers = self.tb.path('/sys/bus/pci/drivers')
        # A bind or probe of a device that is still bound waits a moment:
        # the FIFO thread may not have finished an unbind whose write()
        # already returned, and the real kernel's unbind is synchronous.
        pending = []     # (deadline, driver or None, address)
        while not self.stop_event.is_set():
            with self.tb.lock:
                # A probe written after an unbind must see it done: take the
                # probe first, then handle unbinds, then probe.
                probed, self.probes = self.probes, []
                for drv in sorted(os.listdir(drivers)):
                    u = os.path.join(drivers, drv, 'unbind')
                    if not stat.S_ISFIFO(os.stat(u).st_mode):
                        a = self._take(u)
                        if a and self.tb.driver(a) == drv:
                            self.tb.set_driver(a, None)
                    b = self._take(os.path.join(drivers, drv, 'bind'))
                    if b:
                        pending.append((time.monotonic() + 1.0, drv, b))
                for address in probed:
                    self.log.append(('/sys/bus/pci/drivers_probe', address))
                    pending.append((time.monotonic() + 1.0, None, address))
                still = []
                t0 = time.monotonic()
                for deadline, drv, address in pending:
                    if self.tb.driver(address) is None:
                        self._probe(address, only=drv)
                    elif t0 < deadline:
                        still.append((deadline, drv, address))
                # A slow probe (probe_delay) holds the lock the unbind FIFO
                # thread needs: it must not eat the others' moment.
                spent = time.monotonic() - t0
                pending = [(d + spent, drv, a) for d, drv, a in still]
            time.sleep(0.005)


def hypervisor_testbed(blocking=True):
    """The standard layout of the integration tests:

    group 2: 0000:00:1c.0  PCIe root port (pcieport)
    group 3: 0000:01:00.0  e1000e, alone in its group
    group 5: 0000:02:00.0, 0000:02:00.1  two functions of one card (e1000e)
    group 6: 0000:03:00.0  QEMU edu device, no driver
    none:    0000:05:00.0  nvme without IOMMU group

    and the mdev parent mtty (/sys/devices/virtual/mtty/mtty) with the
    types mtty-1 (24 instances) and mtty-2 (12).
    """
    tb = Testbed()
    for drv in ('e1000e', 'pcieport', 'nvme'):
        tb.add_driver(drv)
    tb.add_driver('vfio-pci', blocking_unbind=blocking)
    tb.add_pci('0000:00:1c.0', 2, 'pcieport', vendor=0x8086, device=0x2948, cls=0x060400,
               device_name='82801I PCI Express Port 1')
    tb.add_pci('0000:01:00.0', 3, 'e1000e')
    tb.add_pci('0000:02:00.0', 5, 'e1000e', device=0x105e,
               device_name='82571EB/82571GB Gigabit Ethernet Controller D0/D1')
    tb.add_pci('0000:02:00.1', 5, 'e1000e', device=0x105e,
               device_name='82571EB/82571GB Gigabit Ethernet Controller D0/D1')
    tb.add_pci('0000:03:00.0', 6, None, vendor=0x1234, device=0x11e8, cls=0x00ff00,
               vendor_name=None, device_name=None)
    tb.add_pci('0000:05:00.0', None, 'nvme', vendor=0x1b36, device=0x0010, cls=0x010802,
               vendor_name='Red Hat, Inc.', device_name='QEMU NVM Express Controller')
    tb.add_mdev_parent('mtty', '/sys/devices/virtual/mtty/mtty', 'mtty',
                       {k: dict(v) for k, v in MTTY_TYPES.items()})
    return tb
