"""Crash-safety soak: binds, restores, persists, mdev definitions, creates
and removes run on the testbed while the daemon is killed (SIGKILL) at
random points -- in the middle of jobs, of definition writes, of its own
start-up -- and restarted.  After each restart, once the start-up jobs
ended, it checks what docs/architecture.md ("Persistence") and
daemon/jobs/hdd-reconcile.h promise:

- nothing torn: bindings.conf parses, every section whole; every mdev
  definition parses; no temporary left behind; nothing moved aside as
  corrupt;
- nothing lost: bindings and definitions no job or call in flight at the
  kill touched are exactly as before it; a binding touched by one still
  knows the device's original driver;
- reconciled: a device is on vfio-pci (with driver_override vfio-pci)
  exactly when the store has an entry for it -- but for a persistent
  binding whose group cannot move (another member on its host driver and
  not persistent), which waits; every other device is on
  its own driver without a vfio-pci override; a persistent entry has its
  persistent/ marker and no other entry has one; every start: auto
  definition runs;
- nothing half-done: no job still running or queued, no device with an
  active job.

HOSTDEVD_SOAK_KILLS sets the kills (default 20: make check), and
HOSTDEVD_SOAK_SEED the seed (printed; a failure replays with it)."""

import configparser
import json
import os
import random
import signal
import time

import dbus
import pytest

from conftest import opts

KILLS = int(os.environ.get('HOSTDEVD_SOAK_KILLS', '20'))
PCI = ['0000:01:00.0', '0000:02:00.0', '0000:02:00.1', '0000:03:00.0']
GROUP_OF = {'0000:02:00.0': ['0000:02:00.0', '0000:02:00.1'],
            '0000:02:00.1': ['0000:02:00.0', '0000:02:00.1']}
UUIDS = ['5a0a0000-0000-4000-8000-%012x' % i for i in range(1, 5)]
TYPES = ['mtty-1', 'mtty-2']
ATTRS = [('label', 'soak'), ('serial/baud', '115200'), ('note', 'caf\u00e9')]
FINAL = ('completed', 'failed', 'cancelled')
KERNEL_SETTLE_S = 1.3      # see Soak.kill
# Found by this soak (seed 16001): Forget while a bind job of the device is
# between its store record and the kernel's bind dropped the record.  Fixed
# (Persist and Forget answer Busy while the device has a job): the soak
# sends them anywhere again; test_forget_during_bind_keeps_the_record keeps
# the case.
KNOWN_FORGET_RACE = False


def attrs(pairs):
    return dbus.Array([dbus.Struct(p, signature='ss') for p in pairs], signature='(ss)')


class Soak:
    def __init__(self, daemon, testbed, rng):
        self.d = daemon
        self.tb = testbed
        self.rng = rng
        self.stats = {'kills': 0, 'calls': 0, 'refused': 0, 'jobs_waited': 0,
                      'kills_at_startup': 0, 'temporaries_after_kill': 0,
                      'known_autostart_failures': 0}
        self.known = set()

    # -- what is on disk ------------------------------------------------------
    def bindings(self):
        """bindings.conf as {address: (OriginalDriver, Persistent)}, checked
        whole: a torn file fails here."""
        path = os.path.join(self.d.state_dir, 'bindings.conf')
        if not os.path.exists(path):
            return {}
        with open(path) as f:
            text = f.read()
        c = configparser.ConfigParser(interpolation=None)
        c.optionxform = str
        c.read_string(text)
        out = {}
        for section in c.sections():
            keys = dict(c[section])
            assert set(keys) == {'OriginalDriver', 'Persistent'}, (section, keys, text)
            assert keys['Persistent'] in ('true', 'false'), (section, text)
            out[section] = (keys['OriginalDriver'], keys['Persistent'] == 'true')
        assert text.endswith('\n'), 'bindings.conf ends without its last line:\n' + text
        return out

    def definitions(self):
        """Every definition file as {uuid: (bytes, parsed)}, each parsed."""
        out = {}
        root = self.d.mdev_dir
        for parent in (os.listdir(root) if os.path.isdir(root) else []):
            for name in os.listdir(os.path.join(root, parent)):
                path = os.path.join(root, parent, name)
                with open(path, 'rb') as f:
                    data = f.read()
                if name not in UUIDS:
                    continue        # a temporary: leftovers() tells
                j = json.loads(data.decode())
                assert j['mdev_type'] in TYPES and j['start'] in ('auto', 'manual'), j
                assert all(isinstance(a, dict) and len(a) == 1 for a in j.get('attrs', [])), j
                out[name] = (data, j)
        return out

    def leftovers(self):
        """Temporaries and files moved aside: none once the daemon loaded."""
        found = [n for n in os.listdir(self.d.state_dir)
                 if n.startswith('bindings.conf') and n != 'bindings.conf']
        root = self.d.mdev_dir
        for parent in (os.listdir(root) if os.path.isdir(root) else []):
            found += [n for n in os.listdir(os.path.join(root, parent)) if n not in UUIDS]
        return found

    def markers(self):
        d = os.path.join(self.d.state_dir, 'persistent')
        return set(os.listdir(d)) if os.path.isdir(d) else set()

    # -- calls ----------------------------------------------------------------
    def call(self, fn, *args):
        """A method call; a refusal (org.hostdevd1.Error.*, or no such
        object: an mdev that neither runs nor is defined) is an outcome."""
        self.stats['calls'] += 1
        try:
            return fn(*args)
        except dbus.DBusException as e:
            assert (e.get_dbus_name().startswith('org.hostdevd1.Error.') or
                    e.get_dbus_name() == 'org.freedesktop.DBus.Error.UnknownObject' or
                    e.get_dbus_name() == 'org.freedesktop.DBus.Error.UnknownMethod'), \
                (e.get_dbus_name(), e.get_dbus_message())
            self.stats['refused'] += 1
            return None

    def mdev_obj(self, uuid):
        return dbus.Interface(self.d.obj('/org/hostdevd1/mdev/' + uuid.replace('-', '_')),
                              'org.hostdevd1.Mdev')

    def random_op(self, busy=()):
        """Starts one operation; returns (touched keys, job path or None).
        No Persist or Forget on a device of @busy (a job of the batch
        runs there): known race, see test_forget_during_bind_keeps_the_record."""
        rng, d = self.rng, self.d
        if rng.random() < 0.55:
            a = rng.choice(PCI)
            touched = GROUP_OF.get(a, [a])
            kind = rng.choice(['bind', 'bind', 'restore', 'restore', 'persist', 'forget'])
            if kind in ('persist', 'forget') and set(touched) & set(busy) and KNOWN_FORGET_RACE:
                return [], None
            dev = d.device(a)
            if kind == 'bind':
                job = self.call(dev.BindVfio, opts(persist=rng.random() < 0.5,
                                                   group=a in GROUP_OF))
            elif kind == 'restore':
                job = self.call(dev.Restore, opts())
            elif kind == 'persist':
                job = None
                self.call(dev.Persist, opts())
            else:
                job = None
                self.call(dev.Forget, opts())
            return touched, job
        u = rng.choice(UUIDS)
        kind = rng.choice(['define', 'define', 'undefine', 'create', 'remove', 'start', 'stop'])
        m = d.manager()
        job = None
        if kind == 'define':
            self.call(m.DefineMdev, 'mtty', rng.choice(TYPES), u,
                      attrs(rng.sample(ATTRS, rng.randint(0, 3))),
                      opts(autostart=rng.random() < 0.5))
        elif kind == 'create':
            r = self.call(m.CreateMdev, 'mtty', rng.choice(TYPES), u,
                          attrs(rng.sample(ATTRS, rng.randint(0, 2))), opts())
            job = r[1] if r else None
        elif kind == 'undefine':
            self.call(self.mdev_obj(u).Undefine, opts())
        else:
            job = self.call(getattr(self.mdev_obj(u), kind.capitalize()), opts())
        return [u], job

    # -- the daemon -------------------------------------------------------------
    def kill(self):
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait()
        self.stats['kills'] += 1
        # The real kernel has done a killed writer's drivers_probe or bind
        # when write() returns (the probe is not interrupted); the fake
        # kernel does it later (up to 1 s behind an unbind, plus the slow
        # probe), and a probe that lands after the next daemon reconciled
        # would be the testbed's doing (seed 16003, kill 488).  Let it end.
        self.tb.kernel.probe_delay = 0
        time.sleep(KERNEL_SETTLE_S)
        # A kill in the middle of a file replacement leaves its temporary
        # (the next start deletes it: leftovers()).
        if self.leftovers():
            self.stats['temporaries_after_kill'] += 1
        # The bus drops the name once it sees the connection close.
        self.d.wait_for(lambda: not self.d.bus.name_has_owner('org.hostdevd1'),
                        what='the bus name to go')

    def jobs(self):
        return self.d.managed('org.hostdevd1.Job')

    def settled(self):
        """The start-up jobs (and any other) ended, and the state is the
        reconciled one.  Returns the list of what is wrong, empty when all
        is well."""
        wrong = []
        for path, j in self.jobs().items():
            if j['State'] not in FINAL:
                wrong.append('job %s (%s) still %s' % (path, j['Operation'], j['State']))
        for a in PCI:
            p = self.d.device_props(a)
            if p['ActiveJob'] != '/':
                wrong.append('%s has active job %s' % (a, p['ActiveJob']))
        b = self.bindings()
        for a in PCI:
            drv, override = self.tb.driver(a), self.tb.override(a)
            if drv == 'vfio-pci':
                if a not in b:
                    wrong.append('%s is on vfio-pci with no entry in the store' % a)
                if override != 'vfio-pci':
                    wrong.append('%s is on vfio-pci with driver_override %r' % (a, override))
            else:
                # A persistent binding waits while its group cannot move:
                # a member on a host driver whose binding is not persistent
                # too (docs/architecture.md, "Persistence").
                blocked = any(self.tb.driver(m) != 'vfio-pci' and not b.get(m, ('', False))[1]
                              for m in GROUP_OF.get(a, [a]) if m != a)
                if a in b and not (b[a][1] and blocked):
                    wrong.append('%s has an entry %r but is on %r' % (a, b[a], drv))
                if drv != self.tb.native[a]:
                    wrong.append('%s is on %r, not its own driver %r' % (a, drv, self.tb.native[a]))
                if override == 'vfio-pci':
                    wrong.append('%s keeps a vfio-pci override off vfio-pci' % a)
        persistent = {a for a, (_, p) in b.items() if p}
        if self.markers() != persistent:
            wrong.append('markers %s, persistent entries %s' % (sorted(self.markers()),
                                                                 sorted(persistent)))
        running = set(self.tb.mdevs())
        for u, (_, j) in self.definitions().items():
            if j['start'] == 'auto' and u not in running:
                if self.known_autostart_failure(u):
                    self.known.add(u)
                    continue
                wrong.append('start: auto definition %s does not run' % u)
        return wrong

    def known_autostart_failure(self, uuid):
        """Known limit of the testbed (seed 16002, kill 138;
        docs/hardening.md): two start-mdev jobs of one type at start-up
        write the type's `create` within the same moment, and the fake mdev
        kernel's `create` is a regular file that keeps only the last write
        (mdev_testbed.py; the real kernel handles each write, as the
        testbed's drivers_probe FIFO does).  The lost one's job fails with
        this message and its definition does not run."""
        return any(j['Operation'] == 'start-mdev' and j['State'] == 'failed' and
                   'did not appear after the kernel accepted its creation' in j['ErrorMessage'] and
                   uuid in j['ErrorMessage']
                   for j in self.jobs().values())

    def restart(self):
        self.d.start()
        try:
            self.d.wait_for(lambda: not self.settled(), timeout=30, what='a reconciled state')
        except AssertionError:
            raise AssertionError('not reconciled after a restart:\n  %s\nmdevs in sysfs: %s\n'
                                 'what the fake kernel saw last: %s'
                                 % ('\n  '.join(self.settled()), self.tb.mdevs(),
                                    self.tb.kernel.log[-25:]))
        if self.known:
            self.stats['known_autostart_failures'] += 1
            self.known.clear()
        assert not self.leftovers(), self.leftovers()

    # -- one cycle ------------------------------------------------------------
    def cycle(self):
        rng = self.rng
        # Some calls run to their end first: the state to keep.
        for _ in range(rng.randint(0, 3)):
            _, job = self.random_op()
            if job:
                self.d.wait_job(job)
                self.stats['jobs_waited'] += 1
        before_b, before_d = self.bindings(), self.definitions()
        # Then a few go out, and the daemon is killed at a random moment.
        # A slow probe widens the window where a bind or restore has
        # unbound the device and no driver has it yet.
        self.tb.kernel.probe_delay = rng.choice([0, 0, 0.05, 0.2])
        touched = set()
        for _ in range(rng.randint(1, 3)):
            keys, _ = self.random_op(busy=touched)
            touched.update(keys)
        time.sleep(rng.choice([0, rng.uniform(0, 0.03), rng.uniform(0, 0.1), rng.uniform(0, 0.3)]))
        self.kill()
        # Sometimes again while it starts up (applying, reconciling).
        if rng.random() < 0.25:
            self.d.start()
            time.sleep(rng.uniform(0, 0.4))
            self.kill()
            self.stats['kills_at_startup'] += 1
        self.restart()

        after_b, after_d = self.bindings(), self.definitions()
        for a in set(before_b) | set(after_b):
            if a not in touched:
                assert after_b.get(a) == before_b.get(a), \
                    'binding of %s lost or changed: %r -> %r' % (a, before_b.get(a), after_b.get(a))
            elif a in after_b:
                orig = self.tb.native[a] or ''
                assert after_b[a][0] == orig, 'original driver of %s: %r' % (a, after_b[a])
        for u in set(before_d) | set(after_d):
            if u not in touched:
                assert (after_d.get(u) or (None,))[0] == (before_d.get(u) or (None,))[0], \
                    'definition of %s lost or changed' % u


def test_kill_9_soak(daemon, testbed):
    seed = int(os.environ.get('HOSTDEVD_SOAK_SEED', time.time_ns() % 2 ** 32))
    print('soak: seed %d (HOSTDEVD_SOAK_SEED=%d replays), %d kills' % (seed, seed, KILLS))
    soak = Soak(daemon, testbed, random.Random(seed))
    t0 = time.monotonic()
    next_report = 50
    while soak.stats['kills'] < KILLS:
        try:
            soak.cycle()
        except AssertionError as e:
            raise AssertionError('after %d kills (seed %d): %s' % (soak.stats['kills'], seed, e))
        if soak.stats['kills'] >= next_report:
            next_report += 50
            log = daemon.log()
            print('soak: %s, %d reconcile jobs, %d bindings applied at start-up, after %.0f s'
                  % (soak.stats, log.count('Reconciling '),
                     log.count('Applying the persistent vfio-pci binding'),
                     time.monotonic() - t0), flush=True)
    log = daemon.log()
    # What the kills left for the start-ups to repair.
    soak.stats['reconcile_jobs'] = log.count('Reconciling ')
    soak.stats['applied_at_startup'] = log.count('Applying the persistent vfio-pci binding')
    print('soak: %s in %.0f s' % (soak.stats, time.monotonic() - t0))
    for bad in ('ERROR: AddressSanitizer', 'runtime error:', 'CRITICAL **'):
        assert bad not in log, 'the daemon log has "%s" (seed %d)' % (bad, seed)


def test_forget_during_bind_keeps_the_record(daemon, testbed):
    """What the soak found, made deterministic: a Forget that arrives while
    a bind job has recorded its binding and the kernel has not bound the
    device yet must not leave the device on vfio-pci without its record
    (its original driver lost).  Either the Forget waits or is refused
    (Busy), or the binding it leaves is recorded."""
    a = '0000:01:00.0'
    testbed.kernel.fail_probe.add('vfio-pci')
    job = daemon.device(a).BindVfio(opts())
    daemon.wait_for(lambda: testbed.driver(a) is None and
                    ('/sys/bus/pci/drivers_probe', a) in testbed.kernel.log,
                    what='unbound, vfio-pci probing')
    try:
        daemon.device(a).Forget(opts())
    except dbus.DBusException as e:
        assert e.get_dbus_name() == 'org.hostdevd1.Error.Busy', e.get_dbus_name()
    testbed.kernel.fail_probe.discard('vfio-pci')
    # The probe goes on (the kernel retries it here as the job's does).
    with open(testbed.path('/sys/bus/pci/drivers/vfio-pci/bind'), 'w') as f:
        f.write(a)
    p = daemon.wait_job(job)
    soak = Soak(daemon, testbed, random.Random(0))
    if testbed.driver(a) == 'vfio-pci':
        assert a in soak.bindings(), 'on vfio-pci (job %s) with no record' % p['State']
        assert soak.bindings()[a][0] == 'e1000e'
    else:
        assert a not in soak.bindings()
