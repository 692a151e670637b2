"""Persistent bindings: applied at start-up and when the device appears,
kept across restarts, and never torn by a crash mid-write."""

import configparser
import os
import random
import signal
import threading
import time

import dbus

from conftest import opts


def conf(daemon):
    c = configparser.ConfigParser(interpolation=None)
    c.optionxform = str
    path = os.path.join(daemon.state_dir, 'bindings.conf')
    # No file is an empty store (hdd-store.h): nothing was written yet.
    if os.path.exists(path):
        with open(path) as f:
            c.read_file(f)
    return c


def reboot(testbed, *addresses):
    """What a reboot does to sysfs: host drivers, no driver_override."""
    for a in addresses:
        with open(os.path.join(testbed.dev_path(a), 'driver_override'), 'w') as f:
            f.write('(null)\n')
        testbed.set_driver(a, testbed.native[a], uevent=False)


def device_settled(daemon, address):
    return daemon.wait_for(lambda: (lambda d: d if d['ActiveJob'] == '/' else None)(
        daemon.device_props(address)), what='no active job on ' + address)


def test_bind_persist_survives_restart(daemon, testbed):
    p = daemon.wait_job(daemon.device('0000:01:00.0').BindVfio(opts(persist=True)))
    assert p['State'] == 'completed', p['ErrorMessage']
    d = device_settled(daemon, '0000:01:00.0')
    assert d['Persistent'] == 1
    c = conf(daemon)
    assert c['0000:01:00.0']['Persistent'] == 'true'
    assert c['0000:01:00.0']['OriginalDriver'] == 'e1000e'

    daemon.stop()
    reboot(testbed, '0000:01:00.0')
    assert testbed.driver('0000:01:00.0') == 'e1000e'
    daemon.start()
    daemon.wait_for(lambda: testbed.driver('0000:01:00.0') == 'vfio-pci', what='re-applied binding')
    d = device_settled(daemon, '0000:01:00.0')
    assert d['Driver'] == 'vfio-pci'
    assert d['OriginalDriver'] == 'e1000e'
    assert 'Applying the persistent vfio-pci binding of 0000:01:00.0' in daemon.log()


def test_persist_applies_when_device_appears(daemon, testbed):
    daemon.device('0000:01:00.0').Persist(opts())
    assert device_settled(daemon, '0000:01:00.0')['Persistent'] == 1
    # Persist alone does not bind now...
    time.sleep(0.5)
    assert testbed.driver('0000:01:00.0') == 'e1000e'
    # ...but when the device (re)appears, it is bound without polling.
    testbed.remove_pci('0000:01:00.0')
    testbed.add_pci('0000:01:00.0', 3, 'e1000e')
    testbed.tb.uevent(testbed.devices['0000:01:00.0'], 'add')
    daemon.wait_for(lambda: testbed.driver('0000:01:00.0') == 'vfio-pci', what='bound on add')


def test_forget_keeps_original_driver(daemon, testbed):
    assert daemon.wait_job(daemon.device('0000:01:00.0').BindVfio(
        opts(persist=True)))['State'] == 'completed'
    daemon.device('0000:01:00.0').Forget(opts())
    d = device_settled(daemon, '0000:01:00.0')
    assert d['Persistent'] == 0
    assert d['OriginalDriver'] == 'e1000e'
    assert conf(daemon)['0000:01:00.0']['Persistent'] == 'false'
    daemon.stop()
    reboot(testbed, '0000:01:00.0')
    daemon.start()
    time.sleep(1)
    assert testbed.driver('0000:01:00.0') == 'e1000e'


def test_restore_forgets_persistence(daemon, testbed):
    assert daemon.wait_job(daemon.device('0000:01:00.0').BindVfio(
        opts(persist=True)))['State'] == 'completed'
    p = daemon.wait_job(daemon.device('0000:01:00.0').Restore(opts()))
    assert any('Forgot the persistent binding' in s for _, s in p['Steps'])
    assert '0000:01:00.0' not in conf(daemon)


def test_persistent_group_is_applied_whole(daemon, testbed):
    assert daemon.wait_job(daemon.device('0000:02:00.0').BindVfio(
        opts(group=True, persist=True)))['State'] == 'completed'
    c = conf(daemon)
    assert c['0000:02:00.0']['Persistent'] == c['0000:02:00.1']['Persistent'] == 'true'
    daemon.stop()
    reboot(testbed, '0000:02:00.0', '0000:02:00.1')
    daemon.start()
    daemon.wait_for(lambda: testbed.driver('0000:02:00.0') == 'vfio-pci' and
                    testbed.driver('0000:02:00.1') == 'vfio-pci', what='both members re-bound')


def test_corrupt_state_file_is_kept_aside(system_bus, polkit, testbed, state_dir, tmp_path):
    from conftest import Daemon
    with open(os.path.join(state_dir, 'bindings.conf'), 'w') as f:
        f.write('[0000:01:00.0\nthis is not a key file\n')
    d = Daemon(system_bus, testbed, state_dir, str(tmp_path / 'log')).start()
    try:
        aside = [n for n in os.listdir(state_dir) if n.startswith('bindings.conf.corrupt-')]
        assert len(aside) == 1
        with open(os.path.join(state_dir, aside[0])) as f:
            assert 'not a key file' in f.read()
        assert 'was moved to' in d.log()
        # Still working.
        assert d.wait_job(d.device('0000:01:00.0').BindVfio(opts()))['State'] == 'completed'
    finally:
        d.stop()


def test_kill_9_mid_write_never_tears_the_file(daemon, testbed):
    devices = ['0000:01:00.0', '0000:02:00.0', '0000:03:00.0']
    rng = random.Random(1234)
    kills = 12
    for round_ in range(kills):
        acked = {}
        for a in devices:
            acked[a] = daemon.device_props(a)['Persistent'] == 1
        in_flight = {}
        stop = threading.Event()

        def churn():
            bus = dbus.bus.BusConnection(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
            try:
                while not stop.is_set():
                    a = rng.choice(devices)
                    want = not acked[a]
                    in_flight[a] = want
                    dev = dbus.Interface(bus.get_object('org.hostdevd1', daemon.device_path(a)),
                                         'org.hostdevd1.PciDevice')
                    (dev.Persist if want else dev.Forget)(opts())
                    acked[a] = want
                    del in_flight[a]
            except dbus.DBusException:
                pass   # the daemon died under us: that is the point
            finally:
                bus.close()
        t = threading.Thread(target=churn)
        t.start()
        time.sleep(rng.uniform(0.05, 0.3))
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait()
        stop.set()
        t.join(timeout=10)

        # The file parses, holds whole entries only, and says for each device
        # what the last acknowledged call said, or what the one in flight did.
        c = conf(daemon)
        for a in devices:
            on_disk = a in c and c[a]['Persistent'] == 'true'
            allowed = {acked[a]} | ({in_flight[a]} if a in in_flight else set())
            assert on_disk in allowed, (round_, a, on_disk, acked, in_flight)
            if a in c:
                assert set(c[a]) == {'OriginalDriver', 'Persistent'}

        daemon.stop()
        daemon.start()
        for a in devices:
            on_disk = a in conf(daemon) and conf(daemon)[a]['Persistent'] == 'true'
            assert (daemon.device_props(a)['Persistent'] == 1) == on_disk
        # No temporary file survives the restart.
        assert sorted(n for n in os.listdir(daemon.state_dir)
                      if n.startswith('bindings.conf')) in ([], ['bindings.conf'])
