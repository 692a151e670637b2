"""Large hosts in the umockdev testbed, built in seconds.

Testbed.add_pci() goes through umockdev's add_from_string(), about 1 ms a
device, and FakeMdevKernel makes an mdev only when hostdevd writes `create`
(and then serves its `remove` FIFO every 10 ms).  A host of 10,000 PCI
devices and 5,000 mdevs is built here instead by writing the same files
umockdev and the fake kernel write (test_scale.py compares the two trees),
before the daemon starts, so that no uevent is needed:

  add_pci_bulk()       PCI devices, each alone in its IOMMU group
  add_mdevs_bulk()     running mdevs of one type: the device, its group and
                       /dev/vfio/N, its vfio-dev; `remove` is a plain file
                       (the fake kernel does not serve these mdevs)
  define_mdevs_bulk()  mdevctl definitions (/etc/mdevctl.d/PARENT/UUID)
  build_host()         all three, for the benchmarks

These mdevs and devices are there to be many; the tests and benchmarks act
on the standard devices of hypervisor_testbed() next to them.
"""

import json
import os
import uuid as uuidlib

# A parent of its own for the bulk mdevs: mtty's 24 instances stay what the
# other tests expect.
SCALE_PARENT = 'mscale'
SCALE_PARENT_SYSPATH = '/sys/devices/virtual/mscale/mscale'
SCALE_TYPE = 'mscale-1'


def pci_address(i):
    """The i-th bulk address: buses 0x40 and up, 32 slots x 8 functions."""
    return '0000:%02x:%02x.%d' % (0x40 + i // 256, (i % 256) // 8, i % 8)


def _symlink(target, link):
    os.symlink(target, link)


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def add_pci_bulk(tb, n, first_group=1000, driver='e1000e',
                 vendor=0x8086, device=0x10d3, cls=0x020000,
                 vendor_name='Intel Corporation',
                 device_name='82574L Gigabit Network Connection'):
    """Adds @n PCI devices (pci_address(0..n-1)) as Testbed.add_pci() would,
    device i alone in IOMMU group @first_group + i; returns the addresses."""
    addresses = []
    sys_dir = tb.path('/sys')
    for i in range(n):
        address = pci_address(i)
        group = first_group + i
        d = os.path.join(sys_dir, 'devices', address)
        os.mkdir(d)
        for k, v in (('vendor', '0x%04x' % vendor), ('device', '0x%04x' % device),
                     ('subsystem_vendor', '0x%04x' % vendor), ('subsystem_device', '0x0000'),
                     ('class', '0x%06x' % cls)):
            _write(os.path.join(d, k), v)
        _write(os.path.join(d, 'driver_override'), '(null)')
        uevent = ['SUBSYSTEM=pci', 'PCI_SLOT_NAME=' + address,
                  'PCI_ID=%04X:%04X' % (vendor, device),
                  'PCI_SUBSYS_ID=%04X:0000' % vendor, 'PCI_CLASS=%X' % cls]
        if vendor_name:
            uevent.append('ID_VENDOR_FROM_DATABASE=' + vendor_name)
        if device_name:
            uevent.append('ID_MODEL_FROM_DATABASE=' + device_name)
        _write(os.path.join(d, 'uevent'), '\n'.join(uevent) + '\n')
        _symlink('../../bus/pci', os.path.join(d, 'subsystem'))
        _symlink('../../bus/pci/drivers/' + driver, os.path.join(d, 'driver'))
        gdir = os.path.join(sys_dir, 'kernel/iommu_groups/%d/devices' % group)
        os.makedirs(gdir)
        _symlink('../../../devices/' + address, os.path.join(gdir, address))
        _symlink('../../kernel/iommu_groups/%d' % group, os.path.join(d, 'iommu_group'))
        _symlink('../../../devices/' + address,
                 os.path.join(sys_dir, 'bus/pci/devices', address))
        tb.devices[address] = '/sys/devices/' + address
        tb.native[address] = driver
        addresses.append(address)
    return addresses


def add_scale_parent(tb, instances):
    """The parent of the bulk mdevs, with one type of @instances."""
    tb.add_mdev_parent(SCALE_PARENT, SCALE_PARENT_SYSPATH, SCALE_PARENT, {
        SCALE_TYPE: dict(name='Scale test', description='many mdevs',
                         device_api='vfio-pci', instances=instances)})


def scale_uuid(i):
    return str(uuidlib.UUID(int=(0x5ca1e << 96) + i))


def add_mdevs_bulk(tb, uuids, first_group=20000, first_vfio=20000):
    """Running mdevs of SCALE_TYPE on SCALE_PARENT (add_scale_parent() first),
    laid out as FakeMdevKernel._create() lays them out."""
    parent = tb.mdev_parents[SCALE_PARENT]
    bus = tb.path('/sys/bus/mdev/devices')
    cls = tb.path('/sys/class/vfio-dev')
    os.makedirs(bus, exist_ok=True)
    os.makedirs(cls, exist_ok=True)
    for i, uuid in enumerate(uuids):
        group, vfio = first_group + i, 'vfio%d' % (first_vfio + i)
        syspath = '%s/%s' % (parent['syspath'], uuid)
        d = tb.path(syspath)
        gdir = tb.path('/sys/kernel/iommu_groups/%d/devices' % group)
        os.makedirs(gdir)
        _symlink(os.path.relpath(d, gdir), os.path.join(gdir, uuid))
        vdir = os.path.join(d, 'vfio-dev', vfio)
        os.makedirs(vdir)
        _symlink(os.path.relpath(d, vdir), os.path.join(vdir, 'device'))
        _symlink(os.path.relpath(cls, vdir), os.path.join(vdir, 'subsystem'))
        _write(os.path.join(vdir, 'release_pending'), '0\n')
        _write(os.path.join(vdir, 'release_requests'), '0\n')
        _symlink(os.path.relpath(vdir, cls), os.path.join(cls, vfio))
        _write(tb.path('/dev/vfio/%d' % group), '')
        _write(tb.path('/dev/vfio/devices/' + vfio), '')
        _write(os.path.join(d, 'remove'), '')
        _write(os.path.join(d, 'uevent'), 'SUBSYSTEM=mdev\nMDEV_TYPE=%s\n' % SCALE_TYPE)
        _symlink(os.path.relpath(tb.path('/sys/bus/mdev'), d), os.path.join(d, 'subsystem'))
        _symlink('../mdev_supported_types/' + SCALE_TYPE, os.path.join(d, 'mdev_type'))
        _symlink(os.path.relpath(os.path.dirname(gdir), d), os.path.join(d, 'iommu_group'))
        _symlink(os.path.relpath(d, bus), os.path.join(bus, uuid))
    tb.set_available(SCALE_PARENT, SCALE_TYPE, tb.available(SCALE_PARENT, SCALE_TYPE) - len(uuids))


def define_mdevs_bulk(mdev_dir, uuids, parent=SCALE_PARENT, type_=SCALE_TYPE, autostart=False):
    """mdevctl 1.2's definition files of @uuids, without attributes."""
    d = os.path.join(mdev_dir, parent)
    os.makedirs(d, exist_ok=True)
    text = json.dumps({'mdev_type': type_, 'start': 'auto' if autostart else 'manual',
                       'attrs': []}, indent=2)
    for uuid in uuids:
        _write(os.path.join(d, uuid), text)


def build_host(tb, mdev_dir, n_pci=0, n_running=0, n_defined=0):
    """@n_pci PCI devices, and the mdevs scale_uuid(0..): the first
    @n_running running, the first @n_defined defined (so min() of both are
    running and defined)."""
    add_pci_bulk(tb, n_pci)
    n_mdevs = max(n_running, n_defined)
    add_scale_parent(tb, n_mdevs + 16)
    uuids = [scale_uuid(i) for i in range(n_mdevs)]
    add_mdevs_bulk(tb, uuids[:n_running])
    define_mdevs_bulk(mdev_dir, uuids[:n_defined])
    return uuids
