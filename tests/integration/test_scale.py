"""A host with many devices and mdevs (scale_testbed.py): the bulk-built
testbed is what umockdev and the fake kernel build, and the daemon keeps
holders and definitions right while tracking them without full rescans
(issue 17, P5).  Outcomes only, never speed: tests/bench/scale.py times."""

import json
import os
import subprocess
import sys

import pytest

from conftest import Daemon, opts
from scale_testbed import (SCALE_PARENT, SCALE_TYPE, add_mdevs_bulk, add_pci_bulk,
                           add_scale_parent, build_host, pci_address, scale_uuid)
from test_holders import holder

N_PCI, N_MDEVS = 300, 200
NIC = '0000:01:00.0'


def tree(path):
    """What a directory holds: links with their targets, files with their
    contents (a FIFO as such)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, path)
            if os.path.islink(p):
                out[rel] = 'link ' + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = 'dir'
            elif name == 'remove':
                out[rel] = 'remove'     # a FIFO the fake kernel serves, or a file
            else:
                with open(p) as f:
                    out[rel] = 'file ' + f.read()
    return out


def test_bulk_pci_device_is_what_umockdev_makes(testbed):
    add_pci_bulk(testbed, 1, first_group=900)
    testbed.add_pci('0000:30:00.0', 901, 'e1000e')
    bulk = tree(testbed.dev_path(pci_address(0)))
    made = tree(testbed.dev_path('0000:30:00.0'))
    bulk['iommu_group'] = bulk['iommu_group'].replace('900', 'N')
    made['iommu_group'] = made['iommu_group'].replace('901', 'N')
    bulk['uevent'] = bulk['uevent'].replace(pci_address(0), 'ADDRESS')
    made['uevent'] = made['uevent'].replace('0000:30:00.0', 'ADDRESS')
    assert bulk == made
    assert testbed.group(pci_address(0)) == 900
    assert testbed.group_members(900) == [pci_address(0)]
    assert testbed.driver(pci_address(0)) == 'e1000e'


def test_bulk_mdev_is_what_the_fake_kernel_makes(testbed):
    add_scale_parent(testbed, 4)
    add_mdevs_bulk(testbed, [scale_uuid(0)], first_group=900, first_vfio=900)
    uuid = '11111111-2222-3333-4444-555555555555'
    with open(os.path.join(testbed.mdev_type_dir('mtty', 'mtty-1'), 'create'), 'w') as f:
        f.write(uuid)
    made_dir = testbed.path('/sys/devices/virtual/mtty/mtty/' + uuid)
    deadline = 100
    while not os.path.exists(os.path.join(made_dir, 'uevent')) and deadline:
        subprocess.run(['sleep', '0.05'])
        deadline -= 1
    bulk = tree(testbed.path('%s/%s' % (testbed.mdev_parents[SCALE_PARENT]['syspath'],
                                        scale_uuid(0))))
    made = tree(made_dir)
    # The fake kernel's mtty has attributes the bulk mdevs do without.
    made = {k: v for k, v in made.items()
            if k.split('/')[0] not in ('label', 'serial', 'note', 'ctl', 'reject_me')}
    norm = {'900': 'N', '100': 'N', SCALE_TYPE: 'TYPE', 'mtty-1': 'TYPE'}

    def normalized(t):
        out = {}
        for k, v in t.items():
            for a, b in norm.items():
                k, v = k.replace(a, b), v.replace(a, b)
            out[k] = v
        return out
    assert normalized(bulk) == normalized(made)
    assert testbed.available(SCALE_PARENT, SCALE_TYPE) == 3
    assert scale_uuid(0) in testbed.mdevs()


@pytest.fixture
def big_daemon(system_bus, polkit, testbed, state_dir, tmp_path):
    """The daemon on a host of N_PCI more PCI devices and N_MDEVS mdevs,
    running and defined."""
    log = str(tmp_path / 'hostdevd.log')
    d = Daemon(system_bus, testbed, state_dir, log)
    d.uuids = build_host(testbed, d.mdev_dir, N_PCI, N_MDEVS, N_MDEVS)
    d.start()
    yield d
    d.stop()
    print(d.log())


def test_big_host_is_exported(big_daemon, testbed):
    d = big_daemon
    pci = d.managed('org.hostdevd1.PciDevice')
    mdevs = d.managed('org.hostdevd1.Mdev')
    assert len(pci) == N_PCI + 6
    assert len(mdevs) == N_MDEVS
    m = d.mdev_props(d.uuids[7])
    assert (m['Active'], m['Defined'], m['Parent'], m['TypeId']) == (
        True, True, SCALE_PARENT, SCALE_TYPE)
    assert m['VfioGroupNode'] == '/dev/vfio/%d' % (20000 + 7)
    p = d.device_props(pci_address(N_PCI - 1))
    assert (p['Driver'], p['IommuGroup']) == ('e1000e', 1000 + N_PCI - 1)


def mdev_holders(d, uuid):
    return [(int(pid), str(node)) for pid, _, node in d.mdev_props(uuid)['Holders']]


def test_holders_come_and_go_among_many(big_daemon, testbed):
    """A holder of one mdev among many is found without any call, shown on
    that mdev only, and gone once it closes."""
    d = big_daemon
    uuid = d.uuids[42]
    node = testbed.path('/dev/vfio/%d' % (20000 + 42))
    p = subprocess.Popen([sys.executable, '-c',
                          'import os, sys, time\nfd = os.open(sys.argv[1], os.O_RDONLY)\n'
                          'print("ready", flush=True)\ntime.sleep(600)\n', node],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == 'ready'
        d.wait_for(lambda: mdev_holders(d, uuid) == [(p.pid, '/dev/vfio/%d' % (20000 + 42))],
                   what='the holder of one mdev')
        assert mdev_holders(d, d.uuids[41]) == []
        assert mdev_holders(d, d.uuids[43]) == []
    finally:
        p.kill()
        p.wait()
    d.wait_for(lambda: mdev_holders(d, uuid) == [], what='the holder gone')


def test_holder_of_a_device_bound_among_many(big_daemon, testbed):
    """A PCI device bound while many mdevs have nodes: its holder is found,
    and goes with it."""
    d = big_daemon
    job = d.device(NIC).BindVfio(opts())
    assert d.wait_job(job)['State'] == 'completed'
    with holder(testbed, NIC, 'qemu-kvm') as pid:
        d.wait_for(lambda: [(int(h[0]), str(h[1])) for h in d.device_props(NIC)['Holders']]
                   == [(pid, 'qemu-kvm')], what='the holder of the NIC')
    d.wait_for(lambda: list(d.device_props(NIC)['Holders']) == [], what='the holder gone')


def definition_file(d, uuid, parent=SCALE_PARENT, type_=SCALE_TYPE, start='manual'):
    path = os.path.join(d.mdev_dir, parent, uuid)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump({'mdev_type': type_, 'start': start, 'attrs': []}, f, indent=2)
    return path


def test_definitions_change_while_running(big_daemon, testbed):
    """With many definitions, a file added, changed or removed behind the
    daemon's back is what the daemon shows, and a PCI device's uevents in
    between lose none of the others."""
    d = big_daemon
    new = scale_uuid(N_MDEVS + 1)
    path = definition_file(d, new)
    m = d.wait_for(lambda: (lambda m: m if m.get('Defined') else None)(
        d.managed('org.hostdevd1.Mdev').get('/org/hostdevd1/mdev/' + new.replace('-', '_'), {})),
        what='the new definition')
    assert (m['Active'], m['Autostart'], m['Parent']) == (False, False, SCALE_PARENT)
    definition_file(d, new, start='auto')
    d.wait_for(lambda: d.mdev_props(new)['Autostart'], what='the changed definition')
    # Unrelated uevents (a NIC bound and restored) keep every definition.
    job = d.device(NIC).BindVfio(opts())
    assert d.wait_job(job)['State'] == 'completed'
    job = d.device(NIC).Restore(opts())
    assert d.wait_job(job)['State'] == 'completed'
    assert len([m for m in d.managed('org.hostdevd1.Mdev').values() if m['Defined']]) \
        == N_MDEVS + 1
    os.unlink(path)
    d.wait_for(lambda: '/org/hostdevd1/mdev/' + new.replace('-', '_')
               not in d.managed('org.hostdevd1.Mdev'), what='the removed definition')
    # One of the running ones loses its definition: it stays, running.
    os.unlink(os.path.join(d.mdev_dir, SCALE_PARENT, d.uuids[3]))
    d.wait_for(lambda: not d.mdev_props(d.uuids[3])['Defined'], what='undefined')
    assert d.mdev_props(d.uuids[3])['Active']


def test_create_checks_the_uuid_on_disk(big_daemon, testbed):
    """CreateMdev of a UUID whose definition was written a moment ago (the
    monitor's news may not have come yet) is refused as defined; a UUID
    that nothing knows is created."""
    d = big_daemon
    taken = scale_uuid(N_MDEVS + 2)
    definition_file(d, taken, parent='mtty', type_='mtty-1')
    with pytest.raises(Exception) as e:
        d.manager().CreateMdev('mtty', 'mtty-1', taken, [], opts())
    assert 'AlreadyExists' in str(e.value)
    free = scale_uuid(N_MDEVS + 3)
    _, job = d.manager().CreateMdev('mtty', 'mtty-1', free, [], opts())
    assert d.wait_job(job)['State'] == 'completed'
    assert free in testbed.mdevs()


def test_definition_of_a_parent_that_appears(big_daemon, testbed):
    """A definition written just before its parent's uevent is known when
    the parent is looked at: autostart creates it."""
    d = big_daemon
    uuid = scale_uuid(N_MDEVS + 4)
    types = {'mdpy-vga': dict(name='pitch 4096, 1024x768', description='virtual display',
                              device_api='vfio-pci', instances=4)}
    testbed.add_mdev_parent('mdpy', '/sys/devices/virtual/mdpy/mdpy', 'mdpy', types)
    definition_file(d, uuid, parent='mdpy', type_='mdpy-vga', start='auto')
    testbed.tb.uevent('/sys/devices/virtual/mdpy/mdpy', 'add')
    d.wait_for(lambda: uuid in testbed.mdevs(), timeout=12, what='the autostart')
