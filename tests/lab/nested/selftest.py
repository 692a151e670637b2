#!/usr/bin/env python3
"""Check the nested guest (L2) pieces without the lab host: boot the L2 kernel
and initramfs directly under QEMU, hot-plug an e1000e into a PCIe root port
over QMP, unplug it again, and require that L2's /init reported both.

  tests/lab/nested/selftest.py [--kernel BZIMAGE] [--initrd CPIO] [--qemu-args ...]

Run on the build machine (L0) it checks the L2 kernel config and /init; the
same command line, run inside the lab host with vfio-pci devices instead of an
emulated e1000e, is what the nested scenarios use. Prints the measured times.
Standard library only.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def keyvals(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return dict(l.split('=', 1) for l in out.splitlines() if re.match(r'^[A-Z_]+=', l))


def l2_command(kernel, initrd, serial, qmp):
    # -nic none: q35's default NIC wants an iPXE ROM. ACPI PCI hotplug off so
    # the guest uses native PCIe hotplug (pciehp) on the root port.
    return ['qemu-system-x86_64', '-machine', 'q35', '-accel', 'tcg', '-cpu', 'max',
            '-m', '128M', '-nodefaults', '-nic', 'none', '-display', 'none',
            '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
            '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
            '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1',
            '-no-reboot', '-serial', f'file:{serial}', '-qmp', f'unix:{qmp},server=on,wait=off']


class QMP:
    def __init__(self, path):
        for _ in range(100):
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        self.f = self.s.makefile('rw')
        self.events = []
        json.loads(self.f.readline())  # greeting
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.f.write(json.dumps({'execute': name, 'arguments': args}) + '\n')
        self.f.flush()
        while True:
            m = json.loads(self.f.readline())
            if 'event' in m:
                self.events.append(m)
            elif 'error' in m:
                raise RuntimeError(f'{name}: {m["error"]}')
            else:
                return m['return']


def wait_serial(path, pattern, timeout):
    end = time.time() + timeout
    while time.time() < end:
        with open(path, errors='replace') as f:
            m = re.search(pattern, f.read())
        if m:
            return m
        time.sleep(0.2)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--kernel')
    p.add_argument('--initrd')
    p.add_argument('--timeout', type=int, default=120)
    a = p.parse_args()
    kernel = a.kernel or keyvals([os.path.join(TOP, 'kernel', 'build.sh'), '--variant', 'nested',
                                  '--print-paths'])['BZIMAGE']
    initrd = a.initrd or keyvals([os.path.join(HERE, 'mkinitramfs.sh')])['INITRAMFS']
    tmp = tempfile.mkdtemp(prefix='l2-selftest.')
    serial, qmp = os.path.join(tmp, 'serial.log'), os.path.join(tmp, 'qmp.sock')
    open(serial, 'w').close()
    t0 = time.time()
    q = subprocess.Popen(l2_command(kernel, initrd, serial, qmp), stdin=subprocess.DEVNULL)
    ok = True
    try:
        c = QMP(qmp)
        if not wait_serial(serial, r'L2: READY', a.timeout):
            print(f'FAIL L2 did not print READY within {a.timeout} s; see {serial}')
            return 1
        t_ready = time.time() - t0
        print(f'PASS L2 ready {t_ready:.1f} s after QEMU started')
        t1 = time.time()
        c.cmd('device_add', driver='e1000e', bus='rp1', id='hp1', romfile='')
        m = wait_serial(serial, r'L2: pci add (\S+ 8086:10d3)', 30)
        if m:
            print(f'PASS L2 saw the device arrive: {m.group(1)} ({time.time() - t1:.1f} s)')
        else:
            print('FAIL L2 did not report the hot-plugged e1000e'); ok = False
        t2 = time.time()
        c.cmd('device_del', id='hp1')
        m = wait_serial(serial, r'L2: pci remove (\S+ 8086:10d3)', 30)
        if m:
            print(f'PASS L2 saw the device leave: {m.group(1)} ({time.time() - t2:.1f} s, '
                  'including pciehp\'s 5 s button delay)')
        else:
            print('FAIL L2 did not report the unplug'); ok = False
    finally:
        q.kill()
        q.wait()
    if not ok:
        print(''.join(open(serial, errors='replace').readlines()[-30:]))
    print(f'serial log: {serial}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
