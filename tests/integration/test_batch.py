"""Several at once: hostdevctl bind / restore with several addresses, mdev
create --file / --count, mdev remove with several UUIDs (hostdevctl-batch.h);
and how many finished jobs the daemon keeps."""

import signal
import subprocess
import time
import uuid as uuidlib

import dbus
import pytest

from conftest import HOSTDEVCTL, Daemon, ctl, opts

NICS = ['0000:%02x:00.0' % (0x40 + i) for i in range(6)]
# What the job table keeps at most (HDD_JOB_TABLE_MAX_FINISHED).
MAX_FINISHED = 128


@pytest.fixture
def host(system_bus, polkit, testbed, state_dir, tmp_path):
    """The standard testbed with six more lone NICs and room for 200 mdevs."""
    for i, address in enumerate(NICS):
        testbed.add_pci(address, 40 + i, 'e1000e')
    testbed.set_available('mtty', 'mtty-1', 200)
    d = Daemon(system_bus, testbed, state_dir, str(tmp_path / 'hostdevd.log')).start()
    yield d
    d.stop()
    print(d.log())


def jobs_on_bus(daemon):
    return sorted(int(p.rsplit('/', 1)[1]) for p in daemon.managed('org.hostdevd1.Job'))


def test_bind_and_restore_several(host, testbed):
    r = ctl(host, 'bind', *NICS, check=0)
    assert [testbed.driver(a) for a in NICS] == ['vfio-pci'] * len(NICS)
    lines = r.stdout.splitlines()
    assert sorted(line.split(': Job ')[0] for line in lines) == NICS
    assert all('completed' in line for line in lines)

    ctl(host, 'restore', *NICS, check=0)
    assert [testbed.driver(a) for a in NICS] == ['e1000e'] * len(NICS)


def test_an_unknown_device_starts_nothing(host, testbed):
    r = ctl(host, 'bind', NICS[0], '0000:7f:00.0', NICS[1], check=1)
    assert '0000:7f:00.0' in r.stderr and 'Nothing was started' in r.stderr
    assert [testbed.driver(a) for a in NICS[:2]] == ['e1000e', 'e1000e']
    assert jobs_on_bus(host) == []


def test_a_device_named_twice_starts_nothing(host, testbed):
    r = ctl(host, 'bind', NICS[0], NICS[1], NICS[0][5:], check=2)
    assert 'the same' in r.stderr and 'Nothing was started' in r.stderr
    assert jobs_on_bus(host) == []
    assert testbed.driver(NICS[0]) == 'e1000e'


def test_a_refusal_in_the_middle_leaves_the_others_done(host, testbed):
    # 0000:02:00.0 shares IOMMU group 5 with 0000:02:00.1: NotViable, at
    # the call.  The devices before and after it are bound all the same.
    r = ctl(host, 'bind', NICS[0], '0000:02:00.0', NICS[1], check=1)
    assert [testbed.driver(a) for a in (NICS[0], '0000:02:00.0', NICS[1])] == \
        ['vfio-pci', 'e1000e', 'vfio-pci']
    assert 'hostdevctl: 0000:02:00.0: ' in r.stderr
    assert '2 of 3 completed; failed: 0000:02:00.0' in r.stderr
    assert sorted(line.split(': Job ')[0] for line in r.stdout.splitlines()) == NICS[:2]


def test_mdev_create_from_a_file(host, testbed, tmp_path):
    given = [str(uuidlib.uuid4()) for _ in range(12)]
    lines = ['# twelve with their UUIDs, three without, one with attributes', '']
    lines += ['mtty mtty-1 %s' % u for u in given]
    lines += ['mtty mtty-1', '  mtty mtty-1 -', 'mtty mtty-2 - "label=a b" serial/baud=9600']
    spec = tmp_path / 'mdevs'
    spec.write_text('\n'.join(lines) + '\n')
    r = ctl(host, 'mdev', 'create', '--file', str(spec), check=0)
    assert len(testbed.mdevs()) == 15
    assert set(given) <= set(testbed.mdevs())
    assert len(r.stdout.splitlines()) == 15
    assert all(': Job ' in line and 'completed' in line for line in r.stdout.splitlines())
    # The fake kernel records an mdev a moment after its sysfs directory is
    # there (which is all the daemon's job checks): wait for its records.
    known = testbed.kernel.mdev.mdevs
    host.wait_for(lambda: set(testbed.mdevs()) <= set(known), what="the fake kernel's records")
    labelled = [u for u in testbed.mdevs() if known[u]['type'] == 'mtty-2']
    assert len(labelled) == 1
    assert testbed.read(testbed.mdev_dir(labelled[0]) + '/label') == 'a b'


def test_a_bad_line_creates_nothing(host, testbed, tmp_path):
    spec = tmp_path / 'mdevs'
    spec.write_text('mtty mtty-1\nmtty mtty-1\nmtty mtty-1\nmtty mtty-1\n'
                    'mtty mtty-1 not-a-uuid\nmtty mtty-1\n')
    r = ctl(host, 'mdev', 'create', '--file', str(spec), check=2)
    assert '%s:5:' % spec in r.stderr
    assert testbed.mdevs() == []
    assert jobs_on_bus(host) == []


def test_a_uuid_listed_twice_creates_nothing(host, testbed, tmp_path):
    u = str(uuidlib.uuid4())
    spec = tmp_path / 'mdevs'
    spec.write_text('mtty mtty-1 %s\nmtty mtty-1\nmtty mtty-2 %s\n' % (u, u.upper()))
    r = ctl(host, 'mdev', 'create', '--file', str(spec), check=2)
    assert 'listed twice' in r.stderr
    assert testbed.mdevs() == []


def test_a_failed_job_in_the_middle_leaves_the_others_created(host, testbed, tmp_path):
    good = [str(uuidlib.uuid4()) for _ in range(6)]
    bad = str(uuidlib.uuid4())
    # The vendor driver rejects reject_me: that job fails and removes its
    # mdev again; unknown-type is refused by the daemon at the call.
    lines = ['mtty mtty-1 %s' % u for u in good[:3]]
    lines += ['mtty mtty-1 %s reject_me=1' % bad, 'mtty no-such-type']
    lines += ['mtty mtty-1 %s' % u for u in good[3:]]
    spec = tmp_path / 'mdevs'
    spec.write_text('\n'.join(lines) + '\n')
    r = ctl(host, 'mdev', 'create', '--file', str(spec), check=1)
    assert sorted(testbed.mdevs()) == sorted(good)
    assert 'hostdevctl: %s: Job' % bad in r.stderr and 'failed' in r.stderr
    assert 'no mdev type no-such-type' in r.stderr
    assert '6 of 8 completed; failed: %s, ' % bad in r.stderr


def test_count_then_remove_several(host, testbed):
    r = ctl(host, 'mdev', 'create', 'mtty', 'mtty-1', '--count', '5', check=0)
    created = testbed.mdevs()
    assert len(created) == 5
    assert sorted(line.split(':')[0] for line in r.stdout.splitlines()) == created
    ctl(host, 'mdev', 'remove', *created, check=0)
    assert testbed.mdevs() == []


def test_batch_options_that_do_not_mix(host, tmp_path):
    spec = tmp_path / 'mdevs'
    spec.write_text('mtty mtty-1\n')
    assert 'no PARENT' in ctl(host, 'mdev', 'create', 'mtty', 'mtty-1', '--file', str(spec),
                              check=2).stderr
    assert '--count' in ctl(host, 'mdev', 'create', 'mtty', 'mtty-1', '--count', '0',
                            check=2).stderr
    assert '--json' in ctl(host, 'bind', NICS[0], NICS[1], '--json', check=2).stderr


def test_finished_jobs_are_kept_bounded(host, testbed):
    """More jobs than the table keeps: the first ones are gone, the latest
    are there, and never more than the bound.  Restores of devices that are
    not on vfio-pci: jobs that touch nothing (umockdev aborts when hundreds
    of uevents pile up unread)."""
    rounds = MAX_FINISHED // len(NICS) + 2
    for _ in range(rounds):
        ctl(host, 'restore', *NICS, check=0)
    n = rounds * len(NICS)
    ids = jobs_on_bus(host)
    assert len(ids) == MAX_FINISHED
    # The one that finished first is forgotten first: a batch's jobs run
    # side by side and may finish in any order, so the kept ones are the
    # last MAX_FINISHED to finish, within the last round of those started.
    assert ids[-1] == n and n - MAX_FINISHED + 1 - len(NICS) <= ids[0] <= n - MAX_FINISHED + 1
    with pytest.raises(dbus.exceptions.DBusException) as e:
        host.manager().GetJob(dbus.UInt32(1), opts())
    assert e.value.get_dbus_name() == 'org.hostdevd1.Error.NotFound'
    assert host.job_props(host.manager().GetJob(dbus.UInt32(n), opts()))['State'] == \
        'completed'


def test_a_batch_ends_when_the_daemon_leaves(host, testbed):
    """A batch follows its jobs on the daemon that answered it: when that
    daemon leaves the bus (killed here) while its jobs wait for a holder (this
    fake kernel blocks every unbind while one device is held), the command
    says so and fails instead of waiting for ever."""
    ctl(host, 'bind', *NICS[:2], check=0)
    with testbed.kernel.hold(NICS[1]):
        env = host.env()
        env.pop('UMOCKDEV_DIR')
        batch = subprocess.Popen([HOSTDEVCTL, 'restore', *NICS[:2]], env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL)
        host.wait_for(lambda: len([p for p in host.managed('org.hostdevd1.Job').values()
                                   if p['Operation'] == 'restore' and
                                   p['State'] == 'waiting-for-release']) == 2,
                      what='the restores waiting for the holder')
        time.sleep(0.5)
        assert batch.poll() is None
        host.proc.send_signal(signal.SIGKILL)
        host.proc.wait()
        out, err = batch.communicate(timeout=30)
        testbed.kernel.wait_writers_gone()
    assert batch.returncode == 1, (out, err)
    assert 'hostdevd left the system bus' in err
    assert '0 of 2 completed' in err
