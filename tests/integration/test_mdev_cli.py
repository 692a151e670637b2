"""hostdevctl types and hostdevctl mdev, against the real daemon."""

import json
import os
import subprocess
import time

from conftest import HOSTDEVCTL, ctl
from test_mdev import UUID

UUID2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002'


def test_types(daemon):
    out = ctl(daemon, 'types', check=0).stdout.splitlines()
    assert out[0].split() == ['PARENT', 'TYPE', 'AVAILABLE', 'API', 'NAME']
    assert out[1].split() == ['mtty', 'mtty-1', '24', 'vfio-pci', 'Single', 'port', 'serial']
    assert out[2].split()[:4] == ['mtty', 'mtty-2', '12', 'vfio-pci']
    data = json.loads(ctl(daemon, 'types', '--json', check=0).stdout)
    assert data['types'][1] == {
        'parent': 'mtty', 'type': 'mtty-2', 'path': '/org/hostdevd1/mdev_type/mtty/mtty_2d2',
        'name': 'Dual port serial', 'description': 'virtual serial ports',
        'device_api': 'vfio-pci', 'available_instances': 12}


def test_create_list_remove(daemon, testbed):
    r = ctl(daemon, 'mdev', 'create', 'mtty', 'mtty-2', '--uuid', UUID,
            '--attr', 'label=con sole', '--attr', 'serial/baud=9600', check=0)
    lines = r.stdout.splitlines()
    assert lines[0] == 'Creating mdev %s' % UUID
    assert 'Setting attribute label of mdev %s' % UUID in lines
    assert lines[-1].startswith('Job ') and 'completed' in lines[-1]
    assert testbed.mdevs() == [UUID]

    out = ctl(daemon, 'mdev', 'list', check=0).stdout.splitlines()
    assert out[0].split() == ['UUID', 'PARENT', 'TYPE', 'STATE', 'START', 'GROUP', 'HOLDERS', 'JOB']
    row = out[1].split()
    assert row[:5] == [UUID, 'mtty', 'mtty-2', 'active', '-']
    assert row[5] == str(testbed.kernel.mdev.mdevs[UUID]['group'])
    m = json.loads(ctl(daemon, 'mdev', 'list', '--json', check=0).stdout)['mdevs'][0]
    assert m['uuid'] == UUID
    assert m['active'] is True and m['defined'] is False and m['autostart'] is False
    assert m['attributes'] == [{'name': 'label', 'value': 'con sole'},
                               {'name': 'serial/baud', 'value': '9600'}]
    assert m['iommu_group'] == testbed.kernel.mdev.mdevs[UUID]['group']
    assert m['vfio_group_node'] == '/dev/vfio/%d' % m['iommu_group']
    assert m['holders'] == []
    assert m['active_job'] is None

    job = json.loads(ctl(daemon, 'mdev', 'remove', UUID.upper(), '--json', check=0).stdout)
    assert job['state'] == 'completed'
    assert job['operation'] == 'remove-mdev'
    assert job['objects'] == [UUID]
    assert job['release_requests'] in (None, 0)   # gone before it was read, or 0
    assert testbed.mdevs() == []
    jobs = ctl(daemon, 'jobs', check=0).stdout
    assert 'create-mdev' in jobs and UUID in jobs


def test_define_start_stop_undefine(daemon, testbed):
    r = ctl(daemon, 'mdev', 'define', 'mtty', 'mtty-1', '-u', UUID2, '--auto',
            '-a', 'label=x', check=0)
    assert r.stdout == 'mdev %s is defined (mtty-1 on mtty, start: auto)\n' % UUID2
    assert os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID2))
    row = ctl(daemon, 'mdev', 'list', check=0).stdout.splitlines()[1].split()
    assert row[:5] == [UUID2, 'mtty', 'mtty-1', 'defined', 'auto']
    assert 'completed' in ctl(daemon, 'mdev', 'start', UUID2, check=0).stdout
    assert testbed.mdevs() == [UUID2]
    assert 'completed' in ctl(daemon, 'mdev', 'stop', UUID2, check=0).stdout
    assert testbed.mdevs() == []
    r = ctl(daemon, 'mdev', 'undefine', UUID2, check=0)
    assert r.stdout == 'mdev %s is no longer defined\n' % UUID2
    assert not os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID2))
    d = json.loads(ctl(daemon, 'mdev', 'define', 'mtty', 'mtty-2', '--json', check=0).stdout)
    assert d['defined'] is True and d['active'] is False and d['type'] == 'mtty-2'


def test_errors(daemon, testbed):
    for args, needle in [
        (['mdev', 'create', 'nope', 'mtty-1'], 'No mdev parent device nope'),
        (['mdev', 'create', 'mtty', 'mtty-1', '--uuid', 'xyz'], 'Invalid UUID'),
        (['mdev', 'create', 'mtty', 'mtty-1', '-a', '../remove=1'], 'Invalid mdev attribute'),
        (['mdev', 'remove', UUID], 'No mdev %s' % UUID),
        (['mdev', 'start', '../..'], 'Invalid UUID'),
    ]:
        r = ctl(daemon, *args)
        assert r.returncode == 1, (args, r)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('hostdevctl: ') and needle in lines[0], \
            (args, r.stderr)
    r = ctl(daemon, 'mdev', 'create', 'mtty', 'mtty-2', '-u', UUID, '-a', 'reject_me=1')
    assert r.returncode == 1
    assert 'rejected attribute reject_me' in r.stderr
    assert testbed.mdevs() == []
    for args in (['mdev'], ['mdev', 'frob'], ['mdev', 'create', 'mtty'],
                 ['mdev', 'create', 'mtty', 'mtty-1', '-a', 'novalue'], ['mdev', 'remove'],
                 ['mdev', 'list', 'x'], ['types', '--bogus']):
        r = ctl(daemon, *args)
        assert r.returncode == 2, (args, r)
        assert r.stderr.startswith('hostdevctl: ')


def test_remove_of_held_mdev_shows_holder_and_requests(daemon, testbed):
    ctl(daemon, 'mdev', 'create', 'mtty', 'mtty-1', '-u', UUID, check=0)
    daemon.wait_for(lambda: daemon.mdev_props(UUID)['VfioGroupNode'], what='the VFIO node')
    env = daemon.env()
    env.pop('UMOCKDEV_DIR')
    with testbed.kernel.mdev.hold(UUID):
        daemon.wait_for(lambda: len(daemon.mdev_props(UUID)['Holders']), what='Holders')
        assert 'python' in ctl(daemon, 'mdev', 'list', check=0).stdout.splitlines()[1]
        waiter = subprocess.Popen([HOSTDEVCTL, 'mdev', 'remove', UUID], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        time.sleep(3.5)
        assert waiter.poll() is None
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert 'pid %d' % os.getpid() in out
    assert 'asked the holders of %s to release it (request ' % UUID in out
    assert out.splitlines()[-1].startswith('Job ') and 'completed' in out.splitlines()[-1]
