"""A D-Bus fuzzer for hostdevd, driven by data/org.hostdevd1.xml.

Against the real daemon on the private bus of the integration tests (their
fixtures: tests/fuzz/conftest.py), it calls every method of every
interface in the introspection XML -- and of the standard ones every
object carries (Properties, Introspectable, Peer, ObjectManager) -- on the
live objects and on made-up paths, with generated arguments: the right
types with odd values (long, non-ASCII, path-like and format strings;
huge arrays; unknown and mistyped options; valid names so that jobs do
start), wrong types, extra and missing arguments; from several callers at
once, and from callers that hang up right after sending.

It asserts, batch after batch, that every reply is a return or an
org.hostdevd1.Error.* / org.freedesktop.DBus.Error.* error, that every
call is answered, and that the daemon is still running and answering; at
the end, that its log holds no sanitizer report and no GLib critical.

  umockdev-wrapper python3 -m pytest -q tests/fuzz/dbus_fuzz.py

HOSTDEVD_DBUS_FUZZ_SECONDS sets how long it runs (default 30),
HOSTDEVD_FUZZ_SEED the seed (printed; default: from the clock), and
HOSTDEVD_BUILD_DIR the daemon's build (build-asan for the ASan build; see
docs/hardening.md for the ASAN_OPTIONS umockdev's preload needs)."""

import os
import random
import socket
import threading
import time

from gi.repository import Gio, GLib

from conftest import integration

TOP = integration.TOP
BUS_NAME = integration.BUS_NAME
XML = os.path.join(TOP, 'data', 'org.hostdevd1.xml')
SECONDS = float(os.environ.get('HOSTDEVD_DBUS_FUZZ_SECONDS', '30'))
CALLERS = 4
BATCH = 40                    # calls per caller between two liveness checks
REPLY_TIMEOUT_MS = 30000      # a call not answered by then was never answered

STANDARD = '''<node>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/><arg type="v" direction="out"/></method>
    <method name="GetAll"><arg type="s" name="interface_name" direction="in"/>
      <arg type="a{sv}" direction="out"/></method>
    <method name="Set"><arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/><arg type="v" name="value" direction="in"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId"><arg type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.ObjectManager">
    <method name="GetManagedObjects"><arg type="a{oa{sa{sv}}}" direction="out"/></method>
  </interface>
</node>'''

ADDRESSES = ['0000:01:00.0', '0000:02:00.0', '0000:02:00.1', '0000:03:00.0', '0000:00:1c.0',
             '0000:05:00.0', '01:00.0', '0000:09:00.0', 'FFFFFFFF:FF:1F.7']
UUIDS = ['83b8f4f2-509f-382f-3c1e-e6bfe0fa1001', '83B8F4F2-509F-382F-3C1E-E6BFE0FA1002',
         '', '00000000-0000-0000-0000-000000000000']
PARENTS = ['mtty', 'mtty0', '0000:00:02.0']
TYPES = ['mtty-1', 'mtty-2', 'mtty-3', 'i915-GVTg_V5_4']
ATTRS = ['label', 'serial/baud', 'note', 'ctl', 'reject_me', 'serial', 'nope']
OPTIONS = {'allow-interaction': 'b', 'group': 'b', 'persist': 'b', 'persistent': 'b',
           'autostart': 'b', 'rom-bar': 'b', 'deadline': 'u', 'policy': 's'}
POLICIES = ['fail', 'force', 'destroy-domain', 'ignore', 'kernel', '']
ODD = ['', ' ', '.', '..', '../../../etc/passwd', '/sys/bus/pci/devices/0000:01:00.0',
       '0000:01:00.0/../../x', 'mtty/../..', 'a//b', '%s%s%n%x', '\\', '"\'<>&', '\t\n\r',
       '\x01\x1f\x7f', 'caf\u00e9', '\u202eevil', '\U0001f4a9' * 3, '\ufeff', '\u0301',
       '\uffff', 'x' * 255, 'x' * 256, 'y' * 4096, 'z' * 70000, '-' * 36,
       '83b8f4f2-509f-382f-3c1e-e6bfe0fa100', '83b8f4f2_509f_382f_3c1e_e6bfe0fa1001']
BASIC = 'ybnqiuxtdsogv'


class Fuzzer:
    def __init__(self, daemon, rng):
        self.daemon = daemon
        self.rng = rng
        self.address = os.environ['DBUS_SYSTEM_BUS_ADDRESS']
        self.ifaces = {}
        for xml in (open(XML).read(), STANDARD):
            for iface in Gio.DBusNodeInfo.new_for_xml(xml).interfaces:
                self.ifaces[iface.name] = iface
        self.stats = {}
        self.lock = threading.Lock()
        self.bad = []          # (call, what came back) that breaks the contract
        self.paths = {}        # interface -> object paths seen on the bus

    # -- what there is to call ---------------------------------------------
    def refresh(self, conn):
        objects = conn.call_sync(BUS_NAME, '/org/hostdevd1', 'org.freedesktop.DBus.ObjectManager',
                                 'GetManagedObjects', None, None, Gio.DBusCallFlags.NONE,
                                 REPLY_TIMEOUT_MS, None).unpack()[0]
        paths = {'org.hostdevd1.Manager': ['/org/hostdevd1']}
        for path, ifaces in objects.items():
            for name in ifaces:
                paths.setdefault(name, []).append(path)
        self.paths = paths
        self.jobs = [int(p.rsplit('/', 1)[1]) for p in paths.get('org.hostdevd1.Job', [])]

    def pick_path(self, iface):
        r = self.rng.random()
        if r < 0.75 and self.paths.get(iface):
            return self.rng.choice(self.paths[iface])
        if r < 0.85:
            return self.rng.choice([p for ps in self.paths.values() for p in ps] or ['/'])
        return self.rng.choice([
            '/', '/org', '/org/hostdevd1/pci', '/org/hostdevd1/pci/0000_09_00_0',
            '/org/hostdevd1/jobs/4294967295', '/org/hostdevd1/mdev/x',
            '/org/hostdevd1/mdev_type/mtty/mtty_2d9', '/org/hostdevd1/' + 'a' * 200,
            '/org/hostdevd1/pci/0000_01_00_0/extra', self.random_path()])

    def random_path(self):
        parts = [''.join(self.rng.choice('abcXYZ019_') for _ in range(self.rng.randint(1, 12)))
                 for _ in range(self.rng.randint(1, 6))]
        return '/' + '/'.join(parts)

    # -- values ------------------------------------------------------------
    def string(self, name=''):
        rng = self.rng
        pools = {'address': ADDRESSES, 'uuid': UUIDS + [self.random_uuid()], 'parent': PARENTS,
                 'type': TYPES, 'domain': ['test', 'l2', 'nope'],
                 'interface_name': list(self.ifaces), 'property_name': self.property_names()}
        r = rng.random()
        if r < 0.6 and name in pools:
            return rng.choice(pools[name])
        if r < 0.8:
            return rng.choice(ODD)
        if r < 0.9:
            base = rng.choice(ADDRESSES + UUIDS + PARENTS + TYPES)
            return self.mutate(base)
        return self.random_text(rng.choice([1, 8, 64, 1024]))

    def random_uuid(self):
        return '%08x-%04x-%04x-%04x-%012x' % tuple(self.rng.getrandbits(b) for b in (32, 16, 16, 16, 48))

    def random_text(self, n):
        # Any code point but NUL and the surrogates (D-Bus strings are UTF-8).
        out = []
        for _ in range(n):
            c = self.rng.choice([self.rng.randint(1, 0x7f), self.rng.randint(0x80, 0xd7ff),
                                 self.rng.randint(0xe000, 0x10ffff)])
            out.append(chr(c))
        return ''.join(out)

    def mutate(self, s):
        s = list(s) or ['x']
        for _ in range(self.rng.randint(1, 3)):
            i = self.rng.randrange(len(s) + 1)
            op = self.rng.randint(0, 2)
            if op == 0 and s:
                del s[min(i, len(s) - 1)]
            elif op == 1:
                s.insert(i, self.rng.choice('/.:-_xX0\u00e9 '))
            elif s:
                s[min(i, len(s) - 1)] = self.rng.choice('/.:-_fF9\u00e9')
        return ''.join(s)

    def property_names(self):
        return [p.name for i in self.ifaces.values() for p in i.properties] + ['Nope', '']

    def options(self):
        rng = self.rng
        d = {}
        # No options half of the time: most methods take few, and a call
        # that passes their check goes deeper.
        for _ in range(rng.choice([0, 0, 0, 0, 1, 1, 2, 3, 8])):
            key = rng.choice(list(OPTIONS) + ['bogus', '', 'x' * 300, 'gr\u00f6up'])
            if key in OPTIONS and rng.random() < 0.8:
                t = OPTIONS[key]
                if t == 'b':
                    v = GLib.Variant('b', rng.random() < 0.5)
                elif t == 'u':
                    v = GLib.Variant('u', rng.choice([0, 1, 2, 5, 3600, 2 ** 32 - 1]))
                else:
                    v = GLib.Variant('s', rng.choice(POLICIES + ODD[:8]))
            else:
                v = self.value(rng.choice(['b', 's', 'u', 'i', 'as', 'a{sv}', 'v', 'ay']), depth=1)
            d[key] = v
        if rng.random() < 0.02:
            d = {'k%d' % i: GLib.Variant('b', True) for i in range(20000)}
        return GLib.Variant('a{sv}', d)

    def attributes(self):
        rng = self.rng
        n = rng.choice([0, 0, 1, 2, 4, 30])
        if rng.random() < 0.02:
            # Huge, but inside the bus's message size limit (32 MiB on the
            # system bus, which drops a sender that goes beyond it).
            return GLib.Variant('a(ss)', [(rng.choice(ATTRS), '1')] * 20000)
        items = []
        for _ in range(n):
            name = rng.choice(ATTRS) if rng.random() < 0.7 else self.string()
            value = rng.choice(['1', '115200', 'console', '', 'v' * 5000]) \
                if rng.random() < 0.7 else self.string()
            items.append((name, value))
        return GLib.Variant('a(ss)', items)

    def value(self, sig, name='', depth=0):
        """A GLib.Variant of type @sig; strings from the pool of @name."""
        rng = self.rng
        if sig == 'a{sv}':
            return self.options()
        if sig == 'a(ss)':
            return self.attributes()
        if sig == 's':
            return GLib.Variant('s', self.string(name))
        if sig == 'o':
            return GLib.Variant('o', self.pick_path('') if rng.random() < 0.5 else self.random_path())
        if sig == 'g':
            return GLib.Variant('g', rng.choice(['', 's', 'a{sv}', '(ii)']))
        if sig == 'u':
            if name == 'id' and self.jobs and rng.random() < 0.6:
                return GLib.Variant('u', rng.choice(self.jobs))
            return GLib.Variant('u', rng.choice([0, 1, 2, 7, 1000, 2 ** 31, 2 ** 32 - 1]))
        if sig in 'ybnqixt':
            bits = {'y': 8, 'b': 1, 'n': 16, 'q': 16, 'i': 32, 'x': 64, 't': 64}[sig]
            v = rng.getrandbits(bits)
            if sig in 'nix' and v >= 2 ** (bits - 1):
                v -= 2 ** bits
            return GLib.Variant(sig, bool(v) if sig == 'b' else v)
        if sig == 'd':
            return GLib.Variant('d', rng.choice([0.0, -1.5, 1e308, float('inf'), float('nan')]))
        if sig == 'v':
            return GLib.Variant('v', self.value(rng.choice('sub') if depth > 2 else
                                                rng.choice(['s', 'u', 'b', 'as', 'v']), depth=depth + 1))
        if sig == 'ay':
            return GLib.Variant('ay', bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 3, 4096]))))
        if sig.startswith('a'):
            inner = sig[1:]
            n = rng.choice([0, 1, 3]) if depth < 2 else 0
            return GLib.Variant(sig, [self.value(inner, depth=depth + 1).unpack() for _ in range(n)])
        raise ValueError(sig)

    def random_signature(self):
        return [self.rng.choice(list(BASIC) + ['as', 'a{sv}', 'a(ss)', 'ay'])
                for _ in range(self.rng.randint(0, 4))]

    def arguments(self, method):
        """The body of a call: right types mostly, else wrong ones."""
        args = [(a.signature, a.name) for a in method.in_args]
        r = self.rng.random()
        if r < 0.15:
            sigs = self.random_signature()
            args = [(s, '') for s in sigs]
        elif r < 0.22 and args:
            args = args[:-1]                       # one missing
        elif r < 0.27:
            args = args + [('s', '')]              # one too many
        if not args:
            return None
        return GLib.Variant.new_tuple(*[self.value(s, n) for s, n in args])

    # -- calling -------------------------------------------------------------
    def pick_interface(self):
        """hostdevd's own interfaces mostly, the standard ones too."""
        ours = [i for n, i in self.ifaces.items() if n.startswith('org.hostdevd1.') and i.methods]
        std = [i for n, i in self.ifaces.items() if not n.startswith('org.hostdevd1.')]
        return self.rng.choice(ours if self.rng.random() < 0.8 else std)

    def one_call(self, conn):
        iface = self.pick_interface()
        method = self.rng.choice(iface.methods)
        path = self.pick_path(iface.name)
        try:
            body = self.arguments(method)
        except (TypeError, OverflowError, ValueError, GLib.Error):
            return              # a value GLib itself will not marshal
        what = '%s %s.%s%s' % (path, iface.name, method.name,
                               body.get_type_string() if body else '()')
        try:
            conn.call_sync(BUS_NAME, path, iface.name, method.name, body, None,
                           Gio.DBusCallFlags.NO_AUTO_START, REPLY_TIMEOUT_MS, None)
            outcome = 'return'
        except GLib.Error as e:
            outcome = Gio.DBusError.get_remote_error(e) or ('local: %s' % e.message)
            if not (outcome.startswith('org.hostdevd1.Error.') or
                    outcome.startswith('org.freedesktop.DBus.Error.')):
                with self.lock:
                    self.bad.append((what[:300], outcome, e.message[:300]))
        with self.lock:
            key = '%s.%s -> %s' % (iface.name.rsplit('.', 1)[1], method.name, outcome)
            self.stats[key] = self.stats.get(key, 0) + 1

    def hang_up(self):
        """A caller that sends a call and disconnects before the reply."""
        conn = Gio.DBusConnection.new_for_address_sync(
            self.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        for _ in range(self.rng.randint(1, 5)):
            iface = self.pick_interface()
            method = self.rng.choice(iface.methods)
            try:
                body = self.arguments(method)
            except (TypeError, OverflowError, ValueError, GLib.Error):
                continue
            msg = Gio.DBusMessage.new_method_call(BUS_NAME, self.pick_path(iface.name),
                                                  iface.name, method.name)
            if body is not None:
                msg.set_body(body)
            conn.send_message(msg, Gio.DBusSendMessageFlags.NONE)
        conn.flush_sync(None)
        conn.close_sync(None)
        with self.lock:
            self.stats['(hung up)'] = self.stats.get('(hung up)', 0) + 1

    def raw_garbage(self):
        """A connection that authenticates and then sends bytes that are
        not a D-Bus message: the bus must drop it, the daemon not notice."""
        path = self.address.split('unix:path=')[1].split(',')[0]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            s.sendall(b'\0AUTH EXTERNAL ' + str(os.getuid()).encode().hex().encode() + b'\r\n')
            s.recv(4096)
            s.sendall(b'BEGIN\r\n' + bytes(self.rng.getrandbits(8) for _ in range(512)))
        except OSError:
            pass
        finally:
            s.close()

    def caller(self, conn, n, seed):
        rng = random.Random(seed)
        me = Fuzzer.__new__(Fuzzer)
        me.__dict__.update(self.__dict__)
        me.rng = rng
        for _ in range(n):
            r = rng.random()
            if r < 0.04:
                me.hang_up()
            elif r < 0.05:
                me.raw_garbage()
            else:
                me.one_call(conn)

    def alive(self, conn):
        """Running, and answering a real call with the right answer."""
        assert self.daemon.proc.poll() is None, \
            'hostdevd exited with %s; log:\n%s' % (self.daemon.proc.returncode,
                                                   self.daemon.log()[-6000:])
        reply = conn.call_sync(BUS_NAME, '/org/hostdevd1', 'org.hostdevd1.Manager', 'GetDevice',
                               GLib.Variant('(sa{sv})', ('01:00.0', {})), None,
                               Gio.DBusCallFlags.NO_AUTO_START, REPLY_TIMEOUT_MS, None)
        assert reply.unpack() == ('/org/hostdevd1/pci/0000_01_00_0',)


def new_connection(address):
    return Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)


def test_dbus_fuzz(daemon, testbed):
    seed = int(os.environ.get('HOSTDEVD_FUZZ_SEED', time.time_ns() % 2 ** 32))
    print('dbus_fuzz: seed %d (HOSTDEVD_FUZZ_SEED=%d replays), %g s, daemon %s'
          % (seed, seed, SECONDS, integration.HOSTDEVD))
    rng = random.Random(seed)
    fuzzer = Fuzzer(daemon, rng)
    # Mdev objects to call: one running, one defined with start: auto.
    m = daemon.manager()
    _, job = m.CreateMdev('mtty', 'mtty-1', UUIDS[0], [], {})
    assert daemon.wait_job(job)['State'] == 'completed'
    m.DefineMdev('mtty', 'mtty-2', UUIDS[1].lower(), [('label', 'fuzz')], {'autostart': True})
    conns = [new_connection(fuzzer.address) for _ in range(CALLERS)]
    deadline = time.monotonic() + SECONDS
    batches = 0
    while time.monotonic() < deadline:
        fuzzer.refresh(conns[0])
        errors = []

        def run(conn, s):
            try:
                fuzzer.caller(conn, BATCH, s)
            except Exception as e:      # noqa: BLE001 -- reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=run, args=(c, rng.getrandbits(32))) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        batches += 1
        assert not errors, errors
        fuzzer.alive(conns[0])
        assert not fuzzer.bad, 'replies outside the contract (seed %d):\n%s' % (
            seed, '\n'.join(map(repr, fuzzer.bad[:20])))

    total = sum(fuzzer.stats.values())
    print('dbus_fuzz: %d calls in %d batches of %d callers' % (total, batches, CALLERS))
    for k in sorted(fuzzer.stats):
        print('  %6d  %s' % (fuzzer.stats[k], k))
    # Jobs the calls started end (or wait) in a daemon that still answers.
    fuzzer.alive(conns[0])
    for c in conns:
        c.close_sync(None)
    log = daemon.log()
    for bad in ('ERROR: AddressSanitizer', 'runtime error:', 'ERROR: LeakSanitizer',
                '-CRITICAL **', 'CRITICAL **'):
        assert bad not in log, 'the daemon log has "%s" (seed %d):\n%s' % (bad, seed, log[-6000:])
    assert total > 0
