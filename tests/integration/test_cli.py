"""The real hostdevctl against the real daemon."""

import json
import os
import signal
import subprocess
import time

from conftest import HOSTDEVCTL, ctl, opts


def test_list_table(daemon):
    out = ctl(daemon, 'list', check=0).stdout.splitlines()
    assert out[0].split()[:6] == ['ADDRESS', 'ID', 'CLASS', 'DRIVER', 'GROUP', 'VFIO']
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert sorted(rows) == ['0000:00:1c.0', '0000:01:00.0', '0000:02:00.0',
                            '0000:02:00.1', '0000:03:00.0', '0000:05:00.0']
    assert rows['0000:01:00.0'][1:5] == ['8086:10d3', '020000', 'e1000e', '3']
    assert rows['0000:05:00.0'][4] == '-'          # no IOMMU group
    assert rows['0000:03:00.0'][3] == '-'          # no driver


def test_list_json_schema(daemon):
    data = json.loads(ctl(daemon, 'list', '--json', check=0).stdout)
    devs = {d['address']: d for d in data['devices']}
    d = devs['0000:02:00.1']
    assert d['vendor_id'] == '0x8086'
    assert d['device_id'] == '0x105e'
    assert d['class'] == '0x020000'
    assert d['driver'] == 'e1000e'
    assert d['iommu_group'] == 5
    assert d['group_members'] == ['0000:02:00.0']
    assert d['vfio_group_node'] is None
    assert d['holders'] == []
    assert d['persistent'] is False
    assert d['active_job'] is None
    assert devs['0000:05:00.0']['iommu_group'] is None
    assert devs['0000:03:00.0']['driver'] is None


def test_bind_show_restore(daemon, testbed):
    r = ctl(daemon, 'bind', '0000:01:00.0', '--persist', check=0)
    assert 'completed' in r.stdout
    assert testbed.driver('0000:01:00.0') == 'vfio-pci'
    show = json.loads(ctl(daemon, 'show', '01:00.0', '--json', check=0).stdout)
    assert show['driver'] == 'vfio-pci'
    assert show['original_driver'] == 'e1000e'
    assert show['vfio_group_node'] == '/dev/vfio/3'
    assert show['persistent'] is True
    text = ctl(daemon, 'show', '0000:01:00.0', check=0).stdout
    assert 'Original driver:  e1000e' in text
    r = ctl(daemon, 'restore', '0000:01:00.0', '--json', check=0)
    job = json.loads(r.stdout)
    assert job['state'] == 'completed'
    assert job['operation'] == 'restore'
    assert any('bound to e1000e' in s['text'] for s in job['steps'])
    assert testbed.driver('0000:01:00.0') == 'e1000e'


def test_errors_are_one_sentence(daemon, testbed):
    for args, needle in [
        (['show', ''], 'Invalid PCI address: it is empty'),
        (['show', '../../etc'], 'Invalid PCI address'),
        (['bind', '0000:42:00.0'], 'No PCI device 0000:42:00.0'),
        (['bind', '0000:02:00.0'], 'not viable for VFIO'),
        (['wait', '999'], 'No job 999'),
    ]:
        r = ctl(daemon, *args)
        assert r.returncode == 1, (args, r)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, (args, r.stderr)
        assert lines[0].startswith('hostdevctl: ') and needle in lines[0], (args, lines)
    assert testbed.kernel.log == []


def test_usage_errors(daemon):
    for args in (['frobnicate'], ['bind'], ['list', '--bogus'], ['wait', 'x/y']):
        r = ctl(daemon, *args)
        assert r.returncode == 2, (args, r)
        assert r.stderr.startswith('hostdevctl: ')


def test_not_authorized(daemon, testbed, polkit):
    polkit.SetAllowed(['org.hostdevd1.persist'])
    r = ctl(daemon, 'bind', '0000:01:00.0')
    assert r.returncode == 1
    assert 'Not authorized to perform org.hostdevd1.bind' in r.stderr
    assert testbed.kernel.log == []


def test_no_wait_jobs_and_wait(daemon):
    r = ctl(daemon, 'bind', '0000:01:00.0', '--no-wait', check=0)
    job_id = r.stdout.split()[2]
    assert r.stdout.startswith('Started job %s ' % job_id)
    out = ctl(daemon, 'wait', job_id, check=0).stdout.strip().splitlines()
    assert 'Probing 0000:01:00.0' in out        # the steps, as they were
    assert out[-1].startswith('Job %s completed' % job_id)
    jobs = json.loads(ctl(daemon, 'jobs', '--json', check=0).stdout)['jobs']
    mine = [j for j in jobs if str(j['id']) == job_id][0]
    assert mine['objects'] == ['0000:01:00.0']
    assert mine['state'] == 'completed'
    table = ctl(daemon, 'jobs', check=0).stdout
    assert 'bind-vfio' in table


def test_wait_reports_holder_then_completion(daemon, testbed):
    assert daemon.wait_job(daemon.device('0000:01:00.0').BindVfio(opts()))['State'] == 'completed'
    with testbed.kernel.hold('0000:01:00.0'):
        r = ctl(daemon, 'restore', '0000:01:00.0', '--no-wait', check=0)
        job_id = r.stdout.split()[2]
        daemon.wait_job('/org/hostdevd1/jobs/' + job_id, states=('waiting-for-release',))
        env = daemon.env()
        env.pop('UMOCKDEV_DIR')
        waiter = subprocess.Popen([HOSTDEVCTL, 'wait', job_id], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        time.sleep(2.5)
        assert waiter.poll() is None     # still waiting: the device is held
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert 'pid %d' % os.getpid() in out     # it showed who held the device
    assert 'completed' in out.splitlines()[-1]


def test_monitor_shows_changes(daemon):
    env = daemon.env()
    env.pop('UMOCKDEV_DIR')
    mon = subprocess.Popen([HOSTDEVCTL, 'monitor'], env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    first = mon.stdout.readline()
    assert 'Monitoring hostdevd' in first
    assert daemon.wait_job(daemon.device('0000:01:00.0').BindVfio(opts()))['State'] == 'completed'
    time.sleep(1)
    mon.send_signal(signal.SIGINT)
    out, _ = mon.communicate(timeout=10)
    assert mon.returncode == 0
    assert '/org/hostdevd1/jobs/' in out
    assert 'Driver' in out and 'vfio-pci' in out
    assert 'Completed' in out or 'completed' in out


def test_wait_ends_when_the_daemon_leaves(daemon, testbed):
    """hostdevctl follows a job on the daemon's unique name: when that
    daemon leaves the bus (killed here), the command says so and fails,
    rather than waiting for a Completed that can never come."""
    assert daemon.wait_job(daemon.device('0000:01:00.0').BindVfio(opts()))['State'] == 'completed'
    with testbed.kernel.hold('0000:01:00.0'):
        env = daemon.env()
        env.pop('UMOCKDEV_DIR')
        waiter = subprocess.Popen([HOSTDEVCTL, 'restore', '0000:01:00.0'], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        daemon.wait_for(lambda: [p for p in daemon.managed('org.hostdevd1.Job').values()
                                 if p['Operation'] == 'restore' and
                                 p['State'] == 'waiting-for-release'],
                        what='the restore waiting for the holder')
        time.sleep(0.5)
        assert waiter.poll() is None     # still following the job
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait()
        out, err = waiter.communicate(timeout=30)
        testbed.kernel.wait_writers_gone()
    assert waiter.returncode == 1, (out, err)
    assert 'hostdevd left the system bus before job' in err
