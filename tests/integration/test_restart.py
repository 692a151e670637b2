"""Restarts in the middle of a job: a SIGTERM lets the running jobs end
before the daemon goes; a crash (kill -9) leaves a device half-way, and the
next start reconciles sysfs with the store and logs what it fixed."""

import configparser
import os
import signal
import time

import dbus
import pytest

from conftest import opts

A = '0000:01:00.0'
# Two functions of one card, in IOMMU group 5.
F0 = '0000:02:00.0'
F1 = '0000:02:00.1'


def conf(daemon):
    c = configparser.ConfigParser(interpolation=None)
    c.optionxform = str
    path = os.path.join(daemon.state_dir, 'bindings.conf')
    if os.path.exists(path):
        with open(path) as f:
            c.read_file(f)
    return c


def jobs(daemon, operation):
    return [p for p in daemon.managed('org.hostdevd1.Job').values()
            if p['Operation'] == operation]


def reconciled(daemon):
    """The one reconcile job, once it has ended: its record on disk can
    change a moment before its final Status is published."""
    def ended():
        js = jobs(daemon, 'reconcile')
        return js if js and all(j['State'] in ('completed', 'failed') for j in js) else None
    (job,) = daemon.wait_for(ended, what='the reconcile job to end')
    return job


def settled(daemon, address):
    return daemon.wait_for(lambda: (lambda d: d if d['ActiveJob'] == '/' else None)(
        daemon.device_props(address)), what='no active job on ' + address)


def crash_after_unbind(daemon, testbed, persist):
    """A bind killed after its unbind, before vfio-pci took the device:
    driver_override=vfio-pci, no driver.  vfio-pci refusing the probe keeps
    the job waiting there long enough to kill it."""
    testbed.kernel.fail_probe.add('vfio-pci')
    daemon.device(A).BindVfio(opts(persist=persist))
    daemon.wait_for(lambda: testbed.driver(A) is None and
                    ('/sys/bus/pci/drivers_probe', A) in testbed.kernel.log,
                    what='unbound and probed')
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    testbed.kernel.fail_probe.discard('vfio-pci')
    assert testbed.override(A) == 'vfio-pci'
    assert testbed.driver(A) is None
    assert conf(daemon)[A]['Persistent'] == ('true' if persist else 'false')


def test_crash_mid_bind_is_rolled_back(daemon, testbed):
    crash_after_unbind(daemon, testbed, persist=False)
    daemon.start()
    daemon.wait_for(lambda: testbed.driver(A) == 'e1000e', what='back on e1000e')
    d = settled(daemon, A)
    assert testbed.override(A) is None
    assert A not in conf(daemon)
    assert d['OriginalDriver'] == '' and d['Persistent'] == 0
    job = reconciled(daemon)
    assert job['State'] == 'completed', job['ErrorMessage']
    assert 'stopped half-way' in job['Status'] and 'back on e1000e' in job['Status']
    log = daemon.log()
    assert 'Reconciling %s' % A in log
    assert 'Reconciled %s' % A in log


def test_crash_mid_persistent_bind_is_completed(daemon, testbed):
    crash_after_unbind(daemon, testbed, persist=True)
    daemon.start()
    daemon.wait_for(lambda: testbed.driver(A) == 'vfio-pci', what='bound')
    d = settled(daemon, A)
    assert d['Persistent'] == 1 and d['OriginalDriver'] == 'e1000e'
    assert conf(daemon)[A]['Persistent'] == 'true'
    assert jobs(daemon, 'reconcile') == []
    assert 'Applying the persistent vfio-pci binding of %s' % A in daemon.log()


def held_restore_killed(daemon, testbed):
    """A restore of a persistent binding killed while the kernel waits for a
    holder to release the device (driver_override already cleared)."""
    p = daemon.wait_job(daemon.device(A).BindVfio(opts(persist=True)))
    assert p['State'] == 'completed', p['ErrorMessage']
    with testbed.kernel.hold(A):
        daemon.wait_job(daemon.device(A).Restore(opts()), states=('waiting-for-release',))
        assert testbed.override(A) is None
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait()
        testbed.kernel.wait_writers_gone()
    # The restore's intent was recorded before sysfs was touched.
    assert conf(daemon)[A]['Persistent'] == 'false'


def test_crash_mid_restore_keeps_device_on_vfio(daemon, testbed):
    held_restore_killed(daemon, testbed)
    # This fake kernel drops the unbind of a killed writer: the device is
    # still on vfio-pci, unprotected by driver_override.
    assert testbed.driver(A) == 'vfio-pci'
    daemon.start()
    daemon.wait_for(lambda: testbed.override(A) == 'vfio-pci', what='override set again')
    settled(daemon, A)
    job = reconciled(daemon)
    assert job['State'] == 'completed', job['ErrorMessage']
    assert 'stays on vfio-pci' in job['Status']
    assert testbed.driver(A) == 'vfio-pci'
    # Not persistent any more: the next boot gives it back to e1000e.
    assert conf(daemon)[A]['Persistent'] == 'false'
    assert not os.path.exists(os.path.join(daemon.state_dir, 'persistent', A))


def test_crash_mid_restore_after_kernel_unbind_completes_restore(daemon, testbed):
    held_restore_killed(daemon, testbed)
    # The real kernel finishes an unbind whose writer was killed once the
    # holder lets go: unbound, no override.
    testbed.set_driver(A, None)
    daemon.start()
    daemon.wait_for(lambda: testbed.driver(A) == 'e1000e', what='back on e1000e')
    settled(daemon, A)
    assert A not in conf(daemon)
    job = reconciled(daemon)
    assert 'back on e1000e' in job['Status']


def test_non_persistent_binding_after_reboot_is_forgotten_quietly(daemon, testbed):
    assert daemon.wait_job(daemon.device(A).BindVfio(opts()))['State'] == 'completed'
    daemon.stop()
    # A reboot: the host driver, no override.
    with open(os.path.join(testbed.dev_path(A), 'driver_override'), 'w') as f:
        f.write('(null)\n')
    testbed.set_driver(A, 'e1000e', uevent=False)
    daemon.start()
    daemon.wait_for(lambda: A not in conf(daemon), what='record dropped')
    job = reconciled(daemon)
    assert 'non-persistent binding ends with a reboot' in job['Status']
    assert testbed.driver(A) == 'e1000e'
    # Writes nothing but what it must: no bind or probe of the device.
    assert ('/sys/bus/pci/drivers/e1000e/bind', A) not in testbed.kernel.log


def test_consistent_bindings_start_no_job(daemon, testbed):
    assert daemon.wait_job(daemon.device(A).BindVfio(opts(persist=True)))['State'] == 'completed'
    assert daemon.wait_job(daemon.device('0000:03:00.0').BindVfio(opts()))['State'] == 'completed'
    daemon.stop()
    daemon.start()
    time.sleep(1)
    assert jobs(daemon, 'reconcile') == [] and jobs(daemon, 'bind-vfio') == []
    assert 'Reconcil' not in daemon.log()


def test_sigterm_waits_for_a_job_past_its_point_of_no_return(daemon, testbed):
    p = daemon.wait_job(daemon.device(F0).BindVfio(opts(persist=True, group=True)))
    assert p['State'] == 'completed', p['ErrorMessage']
    with testbed.kernel.hold(F0):
        restore = daemon.device(F0).Restore(opts())
        daemon.wait_job(restore, states=('waiting-for-release',))
        # Same IOMMU group: queued behind the restore, still cancelable.
        queued = daemon.device(F1).Restore(opts())
        daemon.wait_for(lambda: 'Waiting for another job' in daemon.job_props(queued)['Status'],
                        what='queued')

        daemon.proc.send_signal(signal.SIGTERM)
        # The queued job is cancelled at once (it changed nothing)...
        p = daemon.wait_job(queued)
        assert p['State'] == 'cancelled'
        # ...the restore goes on, and the daemon keeps answering meanwhile.
        time.sleep(1.5)
        assert daemon.proc.poll() is None
        assert daemon.job_props(restore)['State'] == 'waiting-for-release'
        # A new job is not started while it stops.
        late = daemon.wait_job(daemon.device('0000:03:00.0').BindVfio(opts()))
        assert late['State'] == 'cancelled'
        assert any('hostdevd is stopping' in s for _, s in late['Steps'])
        assert testbed.driver('0000:03:00.0') is None
        assert 'Stopping: waiting for job' in daemon.log()
    # The holder let go: the restore completes, then the daemon exits.
    assert daemon.proc.wait(timeout=15) == 0
    assert testbed.driver(F0) == 'e1000e'
    assert F0 not in conf(daemon)
    assert testbed.driver(F1) == 'vfio-pci' and F1 in conf(daemon)
    assert 'Every job has ended; stopped' in daemon.log()


def test_second_sigterm_stops_at_once(daemon, testbed):
    assert daemon.wait_job(daemon.device(A).BindVfio(opts()))['State'] == 'completed'
    with testbed.kernel.hold(A):
        restore = daemon.device(A).Restore(opts())
        daemon.wait_job(restore, states=('waiting-for-release',))
        daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert daemon.proc.poll() is None
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=5) == -signal.SIGTERM
        testbed.kernel.wait_writers_gone()
    # What it left is reconciled at the next start: the device is on
    # vfio-pci with the override cleared by the restore.
    daemon.start()
    daemon.wait_for(lambda: testbed.override(A) == 'vfio-pci', what='override set again')


def test_stopping_daemon_still_refuses_bad_input(daemon, testbed):
    """While it stops the daemon is a normal daemon for everything but new
    jobs: errors are still the usual ones."""
    assert daemon.wait_job(daemon.device(A).BindVfio(opts()))['State'] == 'completed'
    with testbed.kernel.hold(A):
        daemon.wait_job(daemon.device(A).Restore(opts()), states=('waiting-for-release',))
        daemon.proc.send_signal(signal.SIGTERM)
        with pytest.raises(dbus.DBusException) as e:
            daemon.device_path('0000:09:00.0')
        assert e.value.get_dbus_name() == 'org.hostdevd1.Error.NotFound'
    assert daemon.proc.wait(timeout=15) == 0
