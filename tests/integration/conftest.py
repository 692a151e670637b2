"""Fixtures: a private system bus with a mock polkitd, a umockdev testbed
with its fake kernel, and the real hostdevd binary run against them."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dbus
import dbusmock
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from testbed import FakeKernel, hypervisor_testbed  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.path.abspath(os.environ.get('HOSTDEVD_BUILD_DIR', os.path.join(TOP, 'build')))
HOSTDEVD = os.path.join(BUILD, 'daemon', 'hostdevd')
HOSTDEVCTL = os.path.join(BUILD, 'cli', 'hostdevctl')

BUS_NAME = 'org.hostdevd1'
ALL_ACTIONS = ['org.hostdevd1.bind', 'org.hostdevd1.persist', 'org.hostdevd1.cancel-any',
               'org.hostdevd1.mdev', 'org.hostdevd1.mdev-define', 'org.hostdevd1.unplug',
               'org.hostdevd1.attach', 'org.hostdevd1.destroy-domain']


@pytest.fixture(scope='session')
def system_bus():
    dbusmock.DBusTestCase.start_system_bus()
    yield dbusmock.DBusTestCase.get_dbus(system_bus=True)
    dbusmock.DBusTestCase.tearDownClass()


@pytest.fixture
def polkit(system_bus):
    proc, obj = dbusmock.DBusTestCase.spawn_server_template(
        'polkitd', {}, stdout=subprocess.DEVNULL)
    obj.SetAllowed(ALL_ACTIONS)
    yield obj
    proc.terminate()
    proc.wait()


@pytest.fixture
def testbed():
    tb = hypervisor_testbed()
    kernel = FakeKernel(tb).start()
    tb.kernel = kernel
    yield tb
    kernel.stop()
    del tb.tb


class Daemon:
    """The real hostdevd under umockdev-wrapper, on the private bus."""

    def __init__(self, bus, testbed, state_dir, log_path, mdev_dir=None):
        self.bus = bus
        self.testbed = testbed
        self.state_dir = state_dir
        self.log_path = log_path
        # The mdev definitions (mdevctl's /etc/mdevctl.d).
        self.mdev_dir = mdev_dir or os.path.join(os.path.dirname(log_path), 'mdevctl.d')
        # libvirt's test driver, in-process: no libvirtd, and no domain has
        # any of the testbed's devices (test_unplug.py gives its own).
        self.libvirt_uri = 'test:///default'
        self.wrapper = []        # runs the daemon, e.g. with fewer capabilities
        # The tests run as root, whom polkitd allows everything and hostdevd
        # therefore allows without asking: they ask the mock polkitd anyway,
        # to test what it answers (test_polkit_root.py tests the shortcut).
        self.polkit_for_root = True
        self.proc = None

    def env(self):
        env = dict(os.environ)
        env['UMOCKDEV_DIR'] = self.testbed.root
        env['HOSTDEVD_STATE_DIR'] = self.state_dir
        env['HOSTDEVD_MDEVCTL_DIR'] = self.mdev_dir
        env['HOSTDEVD_LIBVIRT_URI'] = self.libvirt_uri
        env['G_DEBUG'] = 'fatal-criticals'
        # glibc fills freed memory with this byte: a use after free reads
        # garbage pointers and crashes the daemon instead of going unseen.
        env['MALLOC_PERTURB_'] = '165'
        env.pop('HOSTDEVD_ROOT', None)
        return env

    def start(self):
        log = open(self.log_path, 'a')
        argv = self.wrapper + ['umockdev-wrapper', HOSTDEVD, '--verbose']
        if self.polkit_for_root:
            argv.append('--polkit-for-root')
        self.proc = subprocess.Popen(argv,
                                     env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('hostdevd exited with %d; log:\n%s'
                                   % (self.proc.returncode, self.log()))
            if self.bus.name_has_owner(BUS_NAME):
                return self
            time.sleep(0.05)
        raise RuntimeError('hostdevd did not take its bus name; log:\n' + self.log())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # The bus notices the name went away a moment later.
        deadline = time.monotonic() + 5
        while self.bus.name_has_owner(BUS_NAME) and time.monotonic() < deadline:
            time.sleep(0.02)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    # -- D-Bus helpers ----------------------------------------------------
    def obj(self, path):
        return self.bus.get_object(BUS_NAME, path)

    def manager(self):
        return dbus.Interface(self.obj('/org/hostdevd1'), 'org.hostdevd1.Manager')

    def device_path(self, address):
        return self.manager().GetDevice(address, dbus.Dictionary({}, signature='sv'))

    def device(self, address):
        return dbus.Interface(self.obj(self.device_path(address)), 'org.hostdevd1.PciDevice')

    def props(self, path, iface):
        return self.obj(path).GetAll(iface, dbus_interface=dbus.PROPERTIES_IFACE)

    def device_props(self, address):
        return self.props(self.device_path(address), 'org.hostdevd1.PciDevice')

    def job_props(self, path):
        return self.props(path, 'org.hostdevd1.Job')

    def mdev_path(self, uuid):
        return self.manager().GetMdev(uuid, dbus.Dictionary({}, signature='sv'))

    def mdev(self, uuid):
        return dbus.Interface(self.obj(self.mdev_path(uuid)), 'org.hostdevd1.Mdev')

    def mdev_props(self, uuid):
        return self.props(self.mdev_path(uuid), 'org.hostdevd1.Mdev')

    def managed(self, iface):
        """Properties of every managed object with @iface, by path."""
        om = dbus.Interface(self.obj('/org/hostdevd1'), 'org.freedesktop.DBus.ObjectManager')
        return {str(p): ifaces[iface] for p, ifaces in om.GetManagedObjects().items()
                if iface in ifaces}

    def wait_job(self, path, timeout=20, states=('completed', 'failed', 'cancelled')):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.job_props(path)
            if p['State'] in states:
                return p
            time.sleep(0.05)
        raise AssertionError('job %s still %s after %ds: %s'
                             % (path, p['State'], timeout, p['Status']))

    def wait_for(self, predicate, timeout=10, what='condition'):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = predicate()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError('timed out waiting for ' + what)


@pytest.fixture
def state_dir():
    d = tempfile.mkdtemp(prefix='hostdevd-state-')
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def daemon(system_bus, polkit, testbed, state_dir, tmp_path):
    d = Daemon(system_bus, testbed, state_dir, str(tmp_path / 'hostdevd.log')).start()
    yield d
    d.stop()
    # Surfaces daemon-side criticals in the test output on failure.
    print(d.log())


def opts(**kw):
    return dbus.Dictionary(kw, signature='sv')


def ctl(daemon, *args, check=None):
    """Runs the real hostdevctl against the daemon."""
    env = daemon.env()
    env.pop('UMOCKDEV_DIR')
    r = subprocess.run([HOSTDEVCTL] + list(args), env=env, capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    if check is not None:
        assert r.returncode == check, (r.returncode, r.stdout, r.stderr)
    return r
