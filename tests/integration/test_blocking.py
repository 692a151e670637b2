"""An unbind that blocks because a process holds the device: the job says
who holds it, the daemon keeps answering, and the job ends once the holder
lets go."""

import os
import time

import dbus
import pytest

from conftest import ctl, opts

# Two functions of one card, in IOMMU group 5.
F0 = '0000:02:00.0'
F1 = '0000:02:00.1'


def bound(daemon, address):
    p = daemon.wait_job(daemon.device(address).BindVfio(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    daemon.wait_for(lambda: daemon.device_props(address)['VfioGroupNode'], what='VFIO node')


def test_blocking_unbind_reports_holder_and_keeps_daemon_responsive(daemon, testbed):
    bound(daemon, '0000:01:00.0')
    with testbed.kernel.hold('0000:01:00.0'):
        # The device's own Holders property shows the process.
        dev = daemon.wait_for(lambda: (lambda d: d if len(d['Holders']) else None)(
            daemon.device_props('0000:01:00.0')), what='device Holders')
        assert (os.getpid(), '/dev/vfio/3') in [(int(h[0]), str(h[2])) for h in dev['Holders']]

        job = daemon.device('0000:01:00.0').Restore(opts())
        p = daemon.wait_job(job, states=('waiting-for-release',))
        assert p['Cancelable'] == 0
        p = daemon.wait_for(lambda: (lambda p: p if len(p['Holders']) else None)(
            daemon.job_props(job)), what='job Holders')
        pid, command, node = p['Holders'][0]
        assert int(pid) == os.getpid()
        assert node == '/dev/vfio/3'
        assert command  # /proc/PID/comm of this test process
        assert 'Waiting for release of 0000:01:00.0' in p['Status']
        assert 'pid %d' % os.getpid() in p['Status']

        # The daemon answers while its worker is stuck in the kernel (this
        # test holds the device until the with-block ends, so answers that
        # come with the job still waiting came while it was stuck)...
        assert daemon.device_path('0000:02:00.0')
        assert ctl(daemon, 'list', check=0).stdout
        assert daemon.job_props(job)['State'] == 'waiting-for-release'
        # ...other groups can be bound meanwhile...
        other = daemon.wait_job(daemon.device('0000:03:00.0').BindVfio(opts()))
        assert other['State'] == 'completed'
        # ...and the job cannot be cancelled past its point of no return.
        with pytest.raises(dbus.DBusException) as e:
            dbus.Interface(daemon.obj(job), 'org.hostdevd1.Job').Cancel(opts())
        assert e.value.get_dbus_name() == 'org.hostdevd1.Error.Busy'
        assert 'cannot be undone' in e.value.get_dbus_message()
        time.sleep(1)
        assert daemon.job_props(job)['State'] == 'waiting-for-release'
        assert testbed.driver('0000:01:00.0') == 'vfio-pci'

    p = daemon.wait_job(job)
    assert p['State'] == 'completed', p['ErrorMessage']
    assert list(p['Holders']) == []
    assert testbed.driver('0000:01:00.0') == 'e1000e'
    steps = [s for _, s in p['Steps']]
    assert any(s.startswith('Waiting for release') for s in steps)
    assert steps[-1] == '0000:01:00.0 is bound to e1000e'


def test_cancel_while_queued(daemon, testbed):
    # Two devices of one IOMMU group: the second job waits for the group's
    # lock, and is still cancelable meanwhile.
    p = daemon.wait_job(daemon.device(F0).BindVfio(opts(group=True)))
    assert p['State'] == 'completed', p['ErrorMessage']
    with testbed.kernel.hold(F0):
        first = daemon.device(F0).Restore(opts())
        daemon.wait_job(first, states=('waiting-for-release',))
        second = daemon.device(F1).Restore(opts())
        p = daemon.wait_for(lambda: (lambda p: p if 'Waiting for another job' in p['Status']
                                     else None)(daemon.job_props(second)), what='queued')
        assert p['Cancelable'] == 1
        dbus.Interface(daemon.obj(second), 'org.hostdevd1.Job').Cancel(opts())
        p = daemon.wait_job(second)
        assert p['State'] == 'cancelled'
        assert p['ErrorName'] == 'org.hostdevd1.Error.Cancelled'
    assert daemon.wait_job(first)['State'] == 'completed'
    assert testbed.driver(F0) == 'e1000e'
    assert testbed.driver(F1) == 'vfio-pci'


def test_second_job_on_a_busy_device(daemon, testbed):
    """A device works on one job at a time: a second is refused with Busy,
    before and after polkit, and nothing is started."""
    bound(daemon, '0000:01:00.0')
    with testbed.kernel.hold('0000:01:00.0'):
        first = daemon.device('0000:01:00.0').Restore(opts())
        daemon.wait_job(first, states=('waiting-for-release',))
        before = sorted(daemon.managed('org.hostdevd1.Job'))
        for call in (daemon.device('0000:01:00.0').BindVfio,
                     daemon.device('0000:01:00.0').Restore,
                     daemon.device('0000:01:00.0').Unplug):
            with pytest.raises(dbus.DBusException) as e:
                call(opts())
            assert e.value.get_dbus_name() == 'org.hostdevd1.Error.Busy'
            assert '0000:01:00.0 has a job already (%s)' % first in e.value.get_dbus_message()
        r = ctl(daemon, 'bind', '0000:01:00.0', check=None)
        assert r.returncode != 0 and 'has a job already' in r.stderr
        assert sorted(daemon.managed('org.hostdevd1.Job')) == before
        assert daemon.device_props('0000:01:00.0')['ActiveJob'] == first
    assert daemon.wait_job(first)['State'] == 'completed'
    assert testbed.driver('0000:01:00.0') == 'e1000e'


