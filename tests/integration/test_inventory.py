"""The device inventory: one object per PCI device, with what sysfs says."""

import dbus

from conftest import opts


def test_manager_properties(daemon):
    p = daemon.props('/org/hostdevd1', 'org.hostdevd1.Manager')
    assert p['Version'] == '0.1.0'
    assert p['SupportsRevoke'] is not None
    assert p['StateDirectory'] == daemon.state_dir


def test_every_device_has_an_object(daemon, testbed):
    om = dbus.Interface(daemon.obj('/org/hostdevd1'), 'org.freedesktop.DBus.ObjectManager')
    objects = om.GetManagedObjects()
    addresses = sorted(str(ifaces['org.hostdevd1.PciDevice']['Address'])
                       for ifaces in objects.values()
                       if 'org.hostdevd1.PciDevice' in ifaces)
    assert addresses == sorted(testbed.devices)
    assert '/org/hostdevd1/pci/0000_02_00_1' in objects


def test_device_properties(daemon):
    p = daemon.device_props('0000:02:00.0')
    assert p['Address'] == '0000:02:00.0'
    assert p['VendorId'] == 0x8086
    assert p['DeviceId'] == 0x105e
    assert p['Class'] == 0x020000
    assert p['VendorName'] == 'Intel Corporation'
    assert p['DeviceName'].startswith('82571EB')
    assert p['Driver'] == 'e1000e'
    assert p['OriginalDriver'] == ''
    assert p['IommuGroup'] == 5
    assert list(p['GroupMembers']) == ['/org/hostdevd1/pci/0000_02_00_1']
    assert p['VfioGroupNode'] == ''
    assert p['VfioDeviceNode'] == ''
    assert list(p['Holders']) == []
    assert p['Persistent'] is False or p['Persistent'] == 0
    assert p['ActiveJob'] == '/'


def test_device_without_group_or_driver(daemon):
    nvme = daemon.device_props('0000:05:00.0')
    assert nvme['IommuGroup'] == -1
    assert list(nvme['GroupMembers']) == []
    edu = daemon.device_props('0000:03:00.0')
    assert edu['Driver'] == ''
    assert edu['VendorName'] == ''


def test_short_address_form(daemon):
    assert daemon.device_path('01:00.0') == '/org/hostdevd1/pci/0000_01_00_0'
    assert daemon.device_path('0000:01:00.0') == '/org/hostdevd1/pci/0000_01_00_0'


def test_hotplugged_device_appears_and_goes(daemon, testbed):
    testbed.add_pci('0000:06:00.0', 8, 'e1000e')
    testbed.tb.uevent(testbed.devices['0000:06:00.0'], 'add')
    daemon.wait_for(lambda: daemon.device_props('0000:06:00.0')['IommuGroup'] == 8,
                    what='the new device object')
    testbed.remove_pci('0000:06:00.0')

    def gone():
        try:
            daemon.device_path('0000:06:00.0')
            return False
        except dbus.DBusException as e:
            return e.get_dbus_name() == 'org.hostdevd1.Error.NotFound'
    daemon.wait_for(gone, what='the device object to go away')


def test_external_driver_change_is_followed(daemon, testbed):
    # Somebody else (driverctl, an admin's echo) rebinds: uevents keep the
    # object current.
    testbed.set_driver('0000:01:00.0', None)
    daemon.wait_for(lambda: daemon.device_props('0000:01:00.0')['Driver'] == '',
                    what='Driver to follow the unbind')
    testbed.set_driver('0000:01:00.0', 'e1000e')
    daemon.wait_for(lambda: daemon.device_props('0000:01:00.0')['Driver'] == 'e1000e',
                    what='Driver to follow the bind')
    assert opts() == {}
