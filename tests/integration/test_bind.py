"""Binding to vfio-pci and back, IOMMU-group aware, as Jobs."""

import threading

import dbus
import pytest

from conftest import opts


def bind(daemon, address, **kw):
    return daemon.device(address).BindVfio(opts(**kw))


def writes(testbed, address=None):
    """The daemon's sysfs writes, as the fake kernel saw them."""
    return [(f, v) for f, v in testbed.kernel.log
            if address is None or address in f or v == address]


def test_bind_and_restore(daemon, testbed):
    job = bind(daemon, '0000:01:00.0')
    assert job.startswith('/org/hostdevd1/jobs/')
    p = daemon.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert p['Operation'] == 'bind-vfio'
    assert list(p['Objects']) == ['/org/hostdevd1/pci/0000_01_00_0']
    assert p['Progress'] == 1.0
    assert testbed.driver('0000:01:00.0') == 'vfio-pci'
    assert testbed.override('0000:01:00.0') == 'vfio-pci'
    # The kernel was driven the documented way, in this order.
    assert writes(testbed) == [
        ('/sys/bus/pci/drivers/e1000e/unbind', '0000:01:00.0'),
        ('/sys/bus/pci/drivers_probe', '0000:01:00.0'),
    ]
    steps = [s for _, s in p['Steps']]
    assert any('driver_override' in s for s in steps)
    assert any('Unbinding 0000:01:00.0 from e1000e' in s for s in steps)

    d = daemon.wait_for(lambda: (lambda d: d if d['ActiveJob'] == '/' else None)(
        daemon.device_props('0000:01:00.0')), what='the job to let go of the device')
    assert d['Driver'] == 'vfio-pci'
    assert d['OriginalDriver'] == 'e1000e'
    assert d['VfioGroupNode'] == '/dev/vfio/3'
    assert d['VfioDeviceNode'].startswith('/dev/vfio/devices/vfio')
    daemon.wait_for(lambda: daemon.device_props('0000:01:00.0')['DriverOverride'] == 'vfio-pci',
                    what='DriverOverride')

    p = daemon.wait_job(daemon.device('0000:01:00.0').Restore(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver('0000:01:00.0') == 'e1000e'
    assert testbed.override('0000:01:00.0') is None
    # Back to the driver it had, by name, not by luck of probing.
    assert ('/sys/bus/pci/drivers/e1000e/bind', '0000:01:00.0') in writes(testbed)
    d = daemon.wait_for(lambda: (lambda d: d if d['Driver'] == 'e1000e' else None)(
        daemon.device_props('0000:01:00.0')), what='Driver e1000e')
    assert d['OriginalDriver'] == ''
    assert d['VfioGroupNode'] == ''


def test_bind_twice_is_harmless(daemon, testbed):
    assert daemon.wait_job(bind(daemon, '0000:01:00.0'))['State'] == 'completed'
    n = len(testbed.kernel.log)
    p = daemon.wait_job(bind(daemon, '0000:01:00.0'))
    assert p['State'] == 'completed'
    assert 'already bound' in p['Status']
    assert len(testbed.kernel.log) == n


def test_group_not_viable_is_refused_and_changes_nothing(daemon, testbed):
    with pytest.raises(dbus.DBusException) as e:
        bind(daemon, '0000:02:00.0')
    assert e.value.get_dbus_name() == 'org.hostdevd1.Error.NotViable'
    msg = e.value.get_dbus_message()
    assert '0000:02:00.1 (bound to e1000e)' in msg
    assert '--group' in msg
    assert testbed.kernel.log == []
    assert testbed.override('0000:02:00.0') is None
    assert testbed.driver('0000:02:00.0') == 'e1000e'


def test_whole_group(daemon, testbed):
    p = daemon.wait_job(bind(daemon, '0000:02:00.0', group=True))
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver('0000:02:00.0') == 'vfio-pci'
    assert testbed.driver('0000:02:00.1') == 'vfio-pci'
    # The bridge of the group is not a member to move.
    assert testbed.driver('0000:00:1c.0') == 'pcieport'
    assert any('Moving 2 devices of IOMMU group 5' in s for _, s in p['Steps'])
    other = daemon.wait_for(lambda: (lambda d: d if d['Driver'] == 'vfio-pci' else None)(
        daemon.device_props('0000:02:00.1')), what='the other member on vfio-pci')
    assert other['OriginalDriver'] == 'e1000e'


def test_no_iommu_group(daemon, testbed):
    with pytest.raises(dbus.DBusException) as e:
        bind(daemon, '0000:05:00.0')
    assert e.value.get_dbus_name() == 'org.hostdevd1.Error.NotSupported'
    assert 'IOMMU' in e.value.get_dbus_message()
    assert testbed.kernel.log == []


def test_unbound_device(daemon, testbed):
    p = daemon.wait_job(bind(daemon, '0000:03:00.0'))
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver('0000:03:00.0') == 'vfio-pci'
    assert writes(testbed) == [('/sys/bus/pci/drivers_probe', '0000:03:00.0')]
    # Nothing to go back to: restore leaves it without a driver, and says so.
    p = daemon.wait_job(daemon.device('0000:03:00.0').Restore(opts()), timeout=30)
    assert p['State'] == 'completed'
    assert testbed.driver('0000:03:00.0') is None
    assert 'none claimed it' in p['Status']


def test_probe_failure_rolls_back(daemon, testbed):
    testbed.kernel.fail_probe.add('vfio-pci')
    p = daemon.wait_job(bind(daemon, '0000:01:00.0'), timeout=30)
    assert p['State'] == 'failed'
    assert p['ErrorName'] == 'org.hostdevd1.Error.Failed'
    assert 'vfio-pci did not bind' in p['ErrorMessage']
    daemon.wait_for(lambda: testbed.driver('0000:01:00.0') == 'e1000e', what='roll-back')
    assert testbed.override('0000:01:00.0') is None
    # The store forgot the half-made binding.
    d = daemon.wait_for(lambda: (lambda d: d if d['ActiveJob'] == '/' else None)(
        daemon.device_props('0000:01:00.0')), what='job end')
    assert d['OriginalDriver'] == ''
    assert d['Persistent'] == 0


def test_concurrent_binds_on_one_group_are_serialized(daemon, testbed):
    testbed.kernel.probe_delay = 0.3
    jobs = [None, None]

    def call(i, address):
        jobs[i] = bind(daemon, address, group=True)
    threads = [threading.Thread(target=call, args=(0, '0000:02:00.0')),
               threading.Thread(target=call, args=(1, '0000:02:00.1'))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [daemon.wait_job(j) for j in jobs]
    assert [r['State'] for r in results] == ['completed', 'completed']
    # One of them waited for the other's group lock, then found its work done.
    waited = [r for r in results
              if any('Waiting for another job on IOMMU group:5' in s for _, s in r['Steps'])]
    assert len(waited) == 1
    assert 'already bound' in waited[0]['Status']
    # Each device was unbound and probed exactly once.
    for a in ('0000:02:00.0', '0000:02:00.1'):
        assert writes(testbed, a).count(('/sys/bus/pci/drivers/e1000e/unbind', a)) == 1
    assert testbed.driver('0000:02:00.0') == testbed.driver('0000:02:00.1') == 'vfio-pci'


def test_different_groups_run_in_parallel(daemon, testbed):
    testbed.kernel.probe_delay = 1.0
    a = bind(daemon, '0000:01:00.0')
    b = bind(daemon, '0000:03:00.0')
    ra, rb = daemon.wait_job(a), daemon.wait_job(b)
    assert ra['State'] == rb['State'] == 'completed'
    # Had they been serialized, one would have started after the other ended.
    assert rb['StartTime'] < ra['EndTime'] and ra['StartTime'] < rb['EndTime']
    assert not any('Waiting for another job' in s for _, s in ra['Steps'] + rb['Steps'])
