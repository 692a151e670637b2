"""A umockdev testbed shaped like a hypervisor's /sys/bus/pci, and a fake
kernel that answers the daemon's sysfs writes.

Under umockdev the kernel does not react to writes, so FakeKernel plays its
part: it reads what hostdevd wrote to driver_override, unbind, bind and
drivers_probe, moves the `driver` links, creates /dev/vfio/N, and emits the
uevents the real kernel would.  An unbind from vfio-pci goes through a FIFO
that the fake kernel does not open while a test holds a device (see
FakeKernel.hold), so the daemon's write blocks exactly like the kernel's
vfio_unregister_group_dev() does while a user holds the device.

A testbed made with revoke=False or True has our kernel series' release
state in each vfio-pci device's vfio-dev (release_pending 1 while an
unbind waits for a held device, /sys/class/vfio-dev/vfioX); with True also
its revoke attribute (mdev_testbed.Revocation).  The fake cannot see which
address a blocked unbind carries: it shows the wait on the held devices.
"""

import contextlib
import os
import select
import shutil
import threading
import time

import gi

gi.require_version('UMockdev', '1.0')
from gi.repository import UMockdev  # noqa: E402

from mdev_testbed import (MTTY_TYPES, FakeMdevKernel, MdevTestbed, Revocation,  # noqa: E402
                          fifo_has_writer, make_node)

# What the real kernel would pick at probe time for each device.
NATIVE = {}


class Testbed(MdevTestbed):
    def __init__(self, revoke=None):
        # None: vfio-pci devices without release state; False: with it;
        # True: and with the kernel's revoke (see the module's comment).
        self.revoke = revoke
        self.tb = UMockdev.Testbed.new()
        self.root = self.tb.get_root_dir()
        self.sys = self.tb.get_sys_dir()
        self.devices = {}          # address -> syspath (/sys/devices/...)
        self.native = {}           # address -> driver the kernel would bind
        self.lock = threading.RLock()
        self.blocking = set()      # drivers whose unbind blocks while held
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
        """bind and unbind are FIFOs, as drivers_probe: the kernel handles
        every write, a regular file would keep only the last of two jobs'.
        A blocking unbind is kept full while a device is held."""
        d = self.path('/sys/bus/pci/drivers/' + name)
        os.makedirs(d, exist_ok=True)
        os.mkfifo(os.path.join(d, 'bind'))
        os.mkfifo(os.path.join(d, 'unbind'))
        if blocking_unbind:
            self.blocking.add(name)

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
                make_node(node)
        minor = self._vfio_minor
        self._vfio_minor += 1
        vdir = os.path.join(self.dev_path(address), 'vfio-dev', 'vfio%d' % minor)
        os.makedirs(vdir)
        make_node(self.path('/dev/vfio/devices/vfio%d' % minor))
        if self.revoke is not None:
            Revocation(self.revoke).setup(vdir)
            os.makedirs(self.path('/sys/class/vfio-dev'), exist_ok=True)
            os.symlink(os.path.relpath(vdir, self.path('/sys/class/vfio-dev')),
                       self.path('/sys/class/vfio-dev/vfio%d' % minor))

    def vfio_dev_dir(self, address):
        """The device's vfio-dev/vfioX, None when it has none."""
        d = os.path.join(self.dev_path(address), 'vfio-dev')
        names = os.listdir(d) if os.path.isdir(d) else []
        return os.path.join(d, names[0]) if names else None

    def _vfio_unbound(self, address):
        cdev_dir = os.path.join(self.dev_path(address), 'vfio-dev')
        if os.path.isdir(cdev_dir):
            for name in os.listdir(cdev_dir):
                shutil.rmtree(os.path.join(cdev_dir, name))
                for p in ('/dev/vfio/devices/' + name, '/sys/class/vfio-dev/' + name):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path(p))
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
        self.held_devices = set()    # the addresses held
        self.revocation = Revocation(testbed.revoke)
        self.release = {}            # address -> requests, while an unbind waits
        self.fail_probe = set()      # drivers that refuse to bind
        self.probe_delay = 0.0       # seconds a probe takes
        self.log = []                # (file, value) as written by the daemon
        self.threads = [threading.Thread(target=self._poll, daemon=True)]
        self.mdev = FakeMdevKernel(testbed, self.log, revocation=self.revocation)
        self.fifos = {}              # driver -> fd open O_RDWR on its unbind FIFO
        self.plain = {}              # fd -> (driver, 'bind' or 'unbind') of the others
        self.plain_writes = []       # (driver, 'bind' or 'unbind', address)
        for drv in os.listdir(self.tb.path('/sys/bus/pci/drivers')):
            unbind = self.tb.path('/sys/bus/pci/drivers/%s/unbind' % drv)
            bind = self.tb.path('/sys/bus/pci/drivers/%s/bind' % drv)
            self.plain[os.open(bind, os.O_RDWR | os.O_NONBLOCK)] = (drv, 'bind')
            if drv not in self.tb.blocking:
                self.plain[os.open(unbind, os.O_RDWR | os.O_NONBLOCK)] = (drv, 'unbind')
            else:
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
        if testbed.revoke is not None and 'vfio-pci' in self.fifos:
            st = os.fstat(self.fifos['vfio-pci'])
            self.unbind_fifo_id = (st.st_dev, st.st_ino)
            self.threads.append(threading.Thread(target=self._serve_release, daemon=True))
        self.threads.append(threading.Thread(target=self._serve_plain, daemon=True))

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
        for fd in list(self.fifos.values()) + list(self.plain):
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
            self.held_devices.add(address)
            for pipe in self.fifos.values():
                self._fill(pipe)
        try:
            yield fd
        finally:
            os.close(fd)
            with self.cond:
                self.held.discard(group)
                self.held_devices.discard(address)
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

    def _serve_release(self):
        """The release state of held devices while an unbind waits for
        them, and their revocation."""
        while not self.stop_event.is_set():
            waiting = fifo_has_writer(self.unbind_fifo_id)
            with self.tb.lock:
                with self.cond:
                    held = sorted(self.held_devices)
                for address in held:
                    vdir = self.tb.vfio_dev_dir(address)
                    if vdir is None or not waiting or address in self.revocation.late:
                        continue
                    if address not in self.release:
                        self.release[address] = 1
                        self.revocation.pending(address, vdir, 1)
                    elif self.revocation.take(address, vdir):
                        # The holders lose the device; the unbind completes.
                        self.log.append((os.path.join(vdir, 'revoke')[len(self.tb.root):], '1'))
                        with self.cond:
                            self.held.discard(self.tb.group(address))
                            self.held_devices.discard(address)
                            self.cond.notify_all()
                for address in list(self.release):
                    if self.tb.vfio_dev_dir(address) is None:
                        del self.release[address]       # released
            time.sleep(0.1)

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
            # A shell's echo adds a newline (driverctl unbinds that way).
            pending = pending.lstrip(b'\0\n')
            # Addresses arrive back to back: the canonical form is 12 bytes.
            while len(pending) >= 12:
                address, pending = pending[:12].decode(), pending[12:].lstrip(b'\0\n')
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

    def _serve_plain(self):
        """The bind and unbind FIFOs that never block: each address, as
        written, for _poll."""
        pending = {fd: b'' for fd in self.plain}
        while not self.stop_event.is_set():
            ready, _, _ = select.select(list(self.plain), [], [], 0.005)
            for fd in ready:
                try:
                    pending[fd] += os.read(fd, 65536)
                except BlockingIOError:
                    continue
                drv, what = self.plain[fd]
                data = pending[fd].lstrip(b'\0\n')
                while len(data) >= 12:
                    address, data = data[:12].decode(), data[12:].lstrip(b'\0\n')
                    with self.tb.lock:
                        self.log.append(('/sys/bus/pci/drivers/%s/%s' % (drv, what), address))
                        self.plain_writes.append((drv, what, address))
                pending[fd] = data

    # -- the PCI core --------------------------------------------------------
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
        # A bind or probe of a device that is still bound waits a moment:
        # the FIFO thread may not have finished an unbind whose write()
        # already returned, and the real kernel's unbind is synchronous.
        pending = []     # (deadline, driver or None, address)
        while not self.stop_event.is_set():
            with self.tb.lock:
                # A probe written after an unbind must see it done: take the
                # probe first, then handle unbinds, then probe.
                probed, self.probes = self.probes, []
                written, self.plain_writes = self.plain_writes, []
                for drv, what, a in written:
                    if what == 'unbind' and self.tb.driver(a) == drv:
                        self.tb.set_driver(a, None)
                    elif what == 'bind':
                        pending.append((time.monotonic() + 1.0, drv, a))
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


def hypervisor_testbed(blocking=True, revoke=None):
    """The standard layout of the integration tests:

    group 2: 0000:00:1c.0  PCIe root port (pcieport)
    group 3: 0000:01:00.0  e1000e, alone in its group
    group 5: 0000:02:00.0, 0000:02:00.1  two functions of one card (e1000e)
    group 6: 0000:03:00.0  QEMU edu device, no driver
    none:    0000:05:00.0  nvme without IOMMU group

    and the mdev parent mtty (/sys/devices/virtual/mtty/mtty) with the
    types mtty-1 (24 instances) and mtty-2 (12).
    """
    tb = Testbed(revoke=revoke)
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
