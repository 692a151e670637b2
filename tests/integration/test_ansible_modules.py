"""The ansible role's modules (ansible/roles/hostdevd/library) against the
real daemon and CLI on the testbed: they change only what differs, say in
check mode what they would change without changing it, and show a diff.
The whole role runs against the lab (tests/ansible/run-lab.py)."""

import json
import os
import subprocess

import pytest

from conftest import BUILD, TOP, opts

ROLE = os.path.join(TOP, 'ansible', 'roles', 'hostdevd')
A = '0000:01:00.0'
UUID = '6d5c2a8e-2f4e-4a9e-9b1f-3c1d2e4f5a61'


def module(daemon, name, args, check=False, diff=False):
    """Runs one module through ansible on localhost; its result as a dict."""
    env = daemon.env()
    env.pop('UMOCKDEV_DIR')
    env.update(PATH=os.path.join(BUILD, 'cli') + os.pathsep + env['PATH'],
               ANSIBLE_LIBRARY=os.path.join(ROLE, 'library'),
               ANSIBLE_MODULE_UTILS=os.path.join(ROLE, 'module_utils'),
               ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3')
    cmd = ['ansible', 'localhost', '-c', 'local', '-m', name, '-a', json.dumps(args)]
    cmd += ['--check'] if check else []
    cmd += ['--diff'] if diff else []
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    # Without JSON on stdout ansible itself failed (no json callback, say):
    # show what it said rather than a JSONDecodeError.
    assert r.stdout.lstrip().startswith('{'), \
        'ansible exited %d without a JSON result: %s' % (r.returncode, (r.stderr or r.stdout)[-2000:])
    out = json.loads(r.stdout)
    return out['plays'][0]['tasks'][0]['hosts']['localhost']


def test_binding_is_made_once(daemon, testbed):
    r = module(daemon, 'hostdevd_binding', {'address': '01:00.0'}, check=True, diff=True)
    assert r['changed'] and not r.get('failed'), r
    assert 'driver: e1000e' in r['diff']['before'] and 'driver: vfio-pci' in r['diff']['after']
    assert testbed.driver(A) == 'e1000e'          # check mode changed nothing

    r = module(daemon, 'hostdevd_binding', {'address': A})
    assert r['changed'] and not r.get('failed'), r
    assert r['command'] == 'hostdevctl bind %s --persist' % A
    assert r['device']['driver'] == 'vfio-pci' and r['device']['persistent']
    assert testbed.driver(A) == 'vfio-pci'

    r = module(daemon, 'hostdevd_binding', {'address': A})
    assert not r['changed'] and not r.get('failed'), r


def test_binding_made_by_hand_is_only_persisted(daemon, testbed):
    assert daemon.wait_job(daemon.device(A).BindVfio(opts()))['State'] == 'completed'
    r = module(daemon, 'hostdevd_binding', {'address': A})
    assert r['changed'] and r['command'] == 'hostdevctl persist %s' % A, r
    assert daemon.device_props(A)['Persistent'] == 1


def test_absent_restores_and_leaves_foreign_bindings_alone(daemon, testbed):
    assert module(daemon, 'hostdevd_binding', {'address': A})['changed']
    r = module(daemon, 'hostdevd_binding', {'address': A, 'state': 'absent'})
    assert r['changed'] and r['command'] == 'hostdevctl restore %s' % A, r
    assert testbed.driver(A) == 'e1000e'
    assert not module(daemon, 'hostdevd_binding', {'address': A, 'state': 'absent'})['changed']


def test_group_binding_moves_the_group(daemon, testbed):
    r = module(daemon, 'hostdevd_binding', {'address': '0000:02:00.0', 'group': True})
    assert r['changed'] and not r.get('failed'), r
    assert testbed.driver('0000:02:00.0') == testbed.driver('0000:02:00.1') == 'vfio-pci'
    assert not module(daemon, 'hostdevd_binding',
                      {'address': '0000:02:00.0', 'group': True})['changed']


@pytest.mark.parametrize('address, message', [
    ('0000:09:00.0', 'No PCI device 0000:09:00.0'),
    ('01:00', "'01:00' is not a PCI address"),
])
def test_binding_errors_say_what_is_wrong(daemon, testbed, address, message):
    r = module(daemon, 'hostdevd_binding', {'address': address})
    assert r.get('failed') and message in r['msg'], r


def test_binding_the_daemon_refuses_fails_with_its_reason(daemon, testbed):
    # 02:00.1 shares its IOMMU group with a device on e1000e.
    r = module(daemon, 'hostdevd_binding', {'address': '0000:02:00.1'})
    assert r.get('failed') and 'is not viable for VFIO' in r['msg'], r


def test_mdev_is_defined_started_and_left_alone(daemon, testbed):
    args = {'uuid': UUID, 'parent': 'mtty', 'type': 'mtty-2',
            'attributes': [{'name': 'label', 'value': 'console'}]}
    r = module(daemon, 'hostdevd_mdev', args, check=True, diff=True)
    assert r['changed'] and r['diff']['before'] == 'absent\n', r
    assert 'type: mtty-2' in r['diff']['after'] and 'active: yes' in r['diff']['after']
    assert daemon.managed('org.hostdevd1.Mdev') == {}

    r = module(daemon, 'hostdevd_mdev', args)
    assert r['changed'] and not r.get('failed'), r
    assert r['mdev']['active'] and r['mdev']['defined'] and r['mdev']['autostart']
    assert r['mdev']['attributes'] == [{'name': 'label', 'value': 'console'}]
    assert os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID))

    assert not module(daemon, 'hostdevd_mdev', args)['changed']


def test_mdev_definition_that_differs_is_rewritten(daemon, testbed):
    args = {'uuid': UUID, 'parent': 'mtty', 'type': 'mtty-2', 'started': False}
    assert module(daemon, 'hostdevd_mdev', args)['changed']
    r = module(daemon, 'hostdevd_mdev', dict(args, type='mtty-1', autostart=False), diff=True)
    assert r['changed'] and r['commands'] == [
        'hostdevctl mdev undefine ' + UUID,
        'hostdevctl mdev define mtty mtty-1 --uuid ' + UUID], r
    assert 'type: mtty-2' in r['diff']['before'] and 'type: mtty-1' in r['diff']['after']
    assert r['mdev']['type'] == 'mtty-1' and not r['mdev']['autostart']
    assert not r['mdev']['active']


def test_mdev_absent_removes_and_undefines(daemon, testbed):
    args = {'uuid': UUID, 'parent': 'mtty', 'type': 'mtty-2'}
    assert module(daemon, 'hostdevd_mdev', args)['changed']
    r = module(daemon, 'hostdevd_mdev', {'uuid': UUID, 'state': 'absent'})
    assert r['changed'] and r['commands'] == ['hostdevctl mdev remove ' + UUID,
                                             'hostdevctl mdev undefine ' + UUID], r
    assert not os.path.exists(os.path.join(daemon.mdev_dir, 'mtty', UUID))
    assert not module(daemon, 'hostdevd_mdev', {'uuid': UUID, 'state': 'absent'})['changed']


def test_mdev_of_an_unknown_type_fails_with_the_daemons_reason(daemon, testbed):
    r = module(daemon, 'hostdevd_mdev', {'uuid': UUID, 'parent': 'mtty', 'type': 'mtty-9'})
    assert r.get('failed') and 'mtty-9' in r['msg'], r
