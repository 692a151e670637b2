"""A caller that is root is allowed without asking polkit, as polkitd itself
would answer (hdd-authority.c); every other caller is asked about as
before.  The other tests run the daemon with --polkit-for-root, to test
what the mock polkitd answers for them."""

import os
import subprocess

import dbus
import dbusmock
import pytest

from conftest import HOSTDEVCTL, Daemon, opts

NIC = '0000:01:00.0'
NOBODY = 65534


@pytest.fixture
def daemon_as_installed(system_bus, polkit, testbed, state_dir, tmp_path):
    d = Daemon(system_bus, testbed, state_dir, str(tmp_path / 'hostdevd.log'))
    d.polkit_for_root = False
    d.start()
    yield d
    d.stop()
    print(d.log())


@pytest.fixture
def any_user_may_connect(system_bus):
    """The test bus lets every user connect, as the system bus does."""
    cfg = dbusmock.DBusTestCase._DBusTestCase__datadir / 'dbusmock_system_cfg'
    text = cfg.read_text()
    if '<allow user="*"/>' not in text:
        cfg.write_text(text.replace('<allow own="*"/>', '<allow own="*"/>\n    <allow user="*"/>'))
        dbus.Interface(system_bus.get_object('org.freedesktop.DBus', '/org/freedesktop/DBus'),
                       'org.freedesktop.DBus').ReloadConfig()


def polkit_checks(polkit):
    return [c for c in polkit.GetCalls(dbus_interface='org.freedesktop.DBus.Mock')
            if c[1] == 'CheckAuthorization']


def test_root_is_not_asked_about(daemon_as_installed, polkit, testbed):
    polkit.SetAllowed(dbus.Array([], signature='s'))    # polkit would deny: it is not asked
    polkit.ClearCalls(dbus_interface='org.freedesktop.DBus.Mock')
    d = daemon_as_installed
    p = d.wait_job(d.device(NIC).BindVfio(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver(NIC) == 'vfio-pci'
    assert polkit_checks(polkit) == []

    # The same connection again: its uid is known now, and the call runs
    # without a question to anyone (hdd_authority_allows_at_once).
    p = d.wait_job(d.device(NIC).Restore(opts()))
    assert p['State'] == 'completed', p['ErrorMessage']
    assert testbed.driver(NIC) == 'e1000e'
    assert polkit_checks(polkit) == []
    assert d.log().count('is root: org.hostdevd1.bind allowed without asking polkit') == 1
    assert d.log().count('is known as root: org.hostdevd1.bind allowed at once') == 1


def test_a_user_is_asked_about(daemon_as_installed, polkit, testbed, any_user_may_connect):
    polkit.SetAllowed(dbus.Array([], signature='s'))
    polkit.ClearCalls(dbus_interface='org.freedesktop.DBus.Mock')
    env = daemon_as_installed.env()
    env.pop('UMOCKDEV_DIR')
    r = subprocess.run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
                        '--clear-groups', HOSTDEVCTL, 'bind', NIC],
                       env=env, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert 'Not authorized to perform org.hostdevd1.bind' in r.stderr
    assert testbed.driver(NIC) == 'e1000e'
    assert testbed.kernel.log == []
    assert len(polkit_checks(polkit)) == 1

    # Allowed by polkit, the same user's call goes through.
    polkit.SetAllowed(['org.hostdevd1.bind'])
    r = subprocess.run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
                        '--clear-groups', HOSTDEVCTL, 'bind', NIC],
                       env=env, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert testbed.driver(NIC) == 'vfio-pci'


def test_polkit_for_root_asks_for_root_too(daemon, polkit, testbed):
    """What every other test relies on: with --polkit-for-root, polkit's
    answer counts for root as well."""
    polkit.SetAllowed(dbus.Array([], signature='s'))
    with pytest.raises(dbus.exceptions.DBusException) as e:
        daemon.device(NIC).BindVfio(opts())
    assert e.value.get_dbus_name() == 'org.hostdevd1.Error.NotAuthorized'
    assert testbed.driver(NIC) == 'e1000e'
    assert os.getuid() == 0
