#!/usr/bin/python3
"""hostdevd on a private system bus against an emulated sysfs (umockdev), with
the real daemon and the real CLI: what `make demo-testbed` shows.  Run under
umockdev-wrapper.  The lab (`make demo`) shows the same against a real
kernel."""

import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))

import dbusmock  # noqa: E402
from conftest import ALL_ACTIONS, HOSTDEVCTL, Daemon  # noqa: E402
from testbed import FakeKernel, hypervisor_testbed  # noqa: E402


def say(text):
    print('\n\033[1m## %s\033[0m' % text, flush=True)


def run(daemon, *args):
    env = daemon.env()
    env.pop('UMOCKDEV_DIR')
    print('$ hostdevctl ' + ' '.join(args), flush=True)
    subprocess.run([HOSTDEVCTL] + list(args), env=env, stdin=subprocess.DEVNULL)


def main():
    dbusmock.DBusTestCase.start_system_bus()
    bus = dbusmock.DBusTestCase.get_dbus(system_bus=True)
    polkit_proc, polkit = dbusmock.DBusTestCase.spawn_server_template(
        'polkitd', {}, stdout=subprocess.DEVNULL)
    polkit.SetAllowed(ALL_ACTIONS)
    tb = hypervisor_testbed()
    kernel = FakeKernel(tb).start()
    state = tempfile.mkdtemp(prefix='hostdevd-demo-')
    daemon = Daemon(bus, tb, state, os.path.join(state, 'hostdevd.log')).start()
    try:
        say('The PCI devices hostdevd sees, with their IOMMU groups')
        run(daemon, 'list')
        say('Binding a device that shares its IOMMU group is refused, naming the blocker')
        run(daemon, 'bind', '0000:02:00.0')
        say('Binding the whole group moves both functions; the bridge stays')
        run(daemon, 'bind', '0000:02:00.0', '--group', '--persist')
        say('A VM (here: this script) holds 0000:01:00.0 while it is given back:')
        say('the job waits in the kernel, names the holder, and the daemon stays responsive')
        run(daemon, 'bind', '0000:01:00.0')
        with kernel.hold('0000:01:00.0'):
            run(daemon, 'restore', '0000:01:00.0', '--no-wait')
            time.sleep(2.5)
            run(daemon, 'jobs')
            run(daemon, 'show', '0000:01:00.0')
        time.sleep(1)
        run(daemon, 'wait', '3')
        say('Bad input gets one clear sentence and changes nothing')
        run(daemon, 'show', '0000:00:1f.7/../../x')
        say('The result')
        run(daemon, 'list')
    finally:
        daemon.stop()
        kernel.stop()
        polkit_proc.terminate()
        dbusmock.DBusTestCase.tearDownClass()


if __name__ == '__main__':
    main()
