"""Who holds a VFIO node: a holder's comm is any bytes, and a scan of /proc
that cannot finish keeps no one waiting."""

import contextlib
import errno
import os
import subprocess
import sys
import time

from conftest import ctl
from test_blocking import bound

NIC = '0000:01:00.0'

HOLDER = r'''
import ctypes, os, sys, time
ctypes.CDLL(None).prctl(15, sys.argv[2].encode('latin-1'), 0, 0, 0)   # PR_SET_NAME
fd = os.open(sys.argv[1], os.O_RDONLY)
print('ready', flush=True)
time.sleep(600)
'''


@contextlib.contextmanager
def holder(testbed, address, comm):
    """A process named @comm (bytes as latin-1) that holds @address's node."""
    node = testbed.vfio_node(testbed.group(address))
    p = subprocess.Popen([sys.executable, '-c', HOLDER, node, comm], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == 'ready'
        yield p.pid
    finally:
        p.kill()
        p.wait()


def holders(daemon, address):
    return [(int(pid), str(cmd)) for pid, cmd, _ in daemon.device_props(address)['Holders']]


def test_holder_comm_that_is_not_utf8(daemon, testbed):
    bound(daemon, NIC)
    with holder(testbed, NIC, '\xff\xfe\x1b[31mvm') as pid:
        h = daemon.wait_for(lambda: [c for p, c in holders(daemon, NIC) if p == pid],
                            what='the holder')
        assert h == ['\ufffd\ufffd\\x1b[31mvm']
        assert daemon.proc.poll() is None
        r = ctl(daemon, 'list', check=0)
        assert '\\x1b[31mvm' in r.stdout
    assert 'CRITICAL' not in daemon.log()


def open_writer(fifo):
    """The FIFO's write end once a reader (the daemon's scan) has it open."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ENXIO:
            return None
        raise


def threads(daemon):
    return len(os.listdir('/proc/%d/task' % daemon.proc.pid))


def test_stuck_holders_scan_keeps_daemon_responsive(daemon, testbed):
    bound(daemon, NIC)
    with holder(testbed, NIC, 'stuck') as pid:
        # The daemon reads /proc/PID/comm of a holder; under umockdev that
        # is the testbed's file when there is one: a FIFO, whose reader
        # waits until the test writes, as a scan stuck in the kernel would.
        d = testbed.path('/proc/%d' % pid)
        os.makedirs(d)
        fifo = os.path.join(d, 'comm')
        os.mkfifo(fifo)
        fd = daemon.wait_for(lambda: open_writer(fifo), timeout=20, what='a scan reading comm')
        try:
            before = threads(daemon)
            # The scan cannot finish; the daemon answers meanwhile...
            for _ in range(3):
                assert daemon.device_props(NIC)['Driver'] == 'vfio-pci'
                assert NIC in ctl(daemon, 'list', check=0).stdout
                time.sleep(2.5)   # a holders poll comes every 2 s
            # ...and starts no second scan while the first is stuck.
            assert threads(daemon) <= before
            bound(daemon, '0000:03:00.0')
            assert daemon.proc.poll() is None
            os.write(fd, b'unstuck\n')
        finally:
            os.close(fd)
        daemon.wait_for(lambda: (pid, 'unstuck') in holders(daemon, NIC), what='the holder')
        os.unlink(fifo)
        os.rmdir(d)
