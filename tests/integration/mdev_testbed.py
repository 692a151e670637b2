"""mdev parents in the umockdev testbed, and the fake kernel's part for them.

MdevTestbed (mixed into testbed.Testbed) builds parents the way
mdev_register_parent() shows them: PARENT/mdev_supported_types/TYPE with
name, description, device_api, available_instances and create, and the
/sys/class/mdev_bus/PARENT link.

FakeMdevKernel answers hostdevd's writes: a UUID written to a type's
`create` makes the mdev (its directory with mdev_type and iommu_group links,
vfio-dev/vfioX with release_pending and release_requests, /dev/vfio/N and
/dev/vfio/devices/vfioX, the /sys/bus/mdev/devices link, an "add" uevent)
and takes an instance; "1" written to its `remove` undoes all that.  Each
`remove` is a FIFO the fake kernel keeps open read-write, so hostdevd's
open() never blocks (umockdev's path lock would deadlock); while a test
holds the mdev (FakeMdevKernel.hold) the FIFO is kept full, so hostdevd's
write() blocks like the kernel's vfio_unregister_group_dev(), which shows
release_pending 1 and counts its requests in release_requests.

Revocation (our kernel series): on a testbed made with revoke=True every
vfio-dev has `revoke` and `revocations`.  "1" written to `revoke` while
release_pending is 1 makes the holders lose the device (the fake lets the
blocked remove or unbind complete; the test's fd stays open, as the
user's files do) and counts it in `revocations`; at any other time the
kernel answers EBUSY.  A file system cannot fail a write with EBUSY: the
fake's refusal is a directory in place of the attribute (EISDIR), which
hostdevd handles as any other refusal.  revoke=False is a kernel with the
release state but without the capability: no `revoke`.
"""

import contextlib
import os
import stat
import threading
import time

# What the mtty sample driver offers.
MTTY_TYPES = {
    'mtty-1': dict(name='Single port serial', description='virtual serial port',
                   device_api='vfio-pci', instances=24),
    'mtty-2': dict(name='Dual port serial', description='virtual serial ports',
                   device_api='vfio-pci', instances=12),
}
# Attributes every fake mdev has, and those its vendor driver rejects
# (a directory in their place: the write fails, with EISDIR).  Not a link
# to /dev/full: hostdevd writes no attribute through a link.
MDEV_ATTRS = ('label', 'serial/baud', 'note', 'ctl')
MDEV_REJECTED = ('reject_me',)


class MdevTestbed:
    """Mixed into testbed.Testbed: needs self.tb, self.path, self._write."""

    def add_mdev_parent(self, name, syspath, subsystem, types, populate=True):
        if not hasattr(self, 'mdev_parents'):
            self.mdev_parents = {}
        self.tb.add_from_string('P: %s\nE: SUBSYSTEM=%s\n' % (syspath[len('/sys'):], subsystem))
        self.mdev_parents[name] = dict(syspath=syspath, types=types)
        if populate:
            self.populate_mdev_parent(name)

    def populate_mdev_parent(self, name):
        """What mdev_register_parent() adds, after the device's "add"."""
        p = self.mdev_parents[name]
        for t, info in p['types'].items():
            d = self.mdev_type_dir(name, t)
            os.makedirs(os.path.join(d, 'devices'))
            for attr in ('name', 'description', 'device_api'):
                self._write(os.path.join(d, attr), info[attr] + '\n')
            self._write(os.path.join(d, 'available_instances'), '%d\n' % info['instances'])
            # A FIFO, open read-write from the start, as drivers_probe: the
            # kernel handles every write, a regular file would keep only
            # the last of two jobs' (and no open() of it ever blocks).
            os.mkfifo(os.path.join(d, 'create'))
            if not hasattr(self, 'create_fds'):
                self.create_fds = {}
            self.create_fds[(name, t)] = os.open(os.path.join(d, 'create'),
                                                 os.O_RDWR | os.O_NONBLOCK)
        os.makedirs(self.path('/sys/class/mdev_bus'), exist_ok=True)
        os.symlink(os.path.relpath(self.path(p['syspath']), self.path('/sys/class/mdev_bus')),
                   self.path('/sys/class/mdev_bus/' + name))

    def mdev_type_dir(self, parent, type_):
        return self.path('%s/mdev_supported_types/%s'
                         % (self.mdev_parents[parent]['syspath'], type_))

    def available(self, parent, type_):
        return int(self.read(os.path.join(self.mdev_type_dir(parent, type_),
                                          'available_instances')))

    def set_available(self, parent, type_, n):
        # Replaced, not rewritten: a reader (mdevctl) never sees it empty,
        # as nobody sees a sysfs attribute half-written.
        p = os.path.join(self.mdev_type_dir(parent, type_), 'available_instances')
        self._write(p + '.new', '%d\n' % n)
        os.replace(p + '.new', p)

    def mdev_dir(self, uuid):
        return self.path('/sys/bus/mdev/devices/' + uuid)

    def mdevs(self):
        try:
            return sorted(os.listdir(self.path('/sys/bus/mdev/devices')))
        except FileNotFoundError:
            return []


class Revocation:
    """The kernel's revoke of the vfio-dev directories, PCI and mdev alike;
    shared by FakeKernel and FakeMdevKernel."""

    def __init__(self, capable):
        self.capable = capable       # None: no release state at all (PCI)
        self.revoked = []            # addresses and UUIDs, in order
        self.refuse = set()          # revoke refused even while pending:
        #                              "the user let go at that moment"
        self.vanish = set()          # revoke gone when the release starts
        self.late = set()            # PCI: the release does not wait yet
        #                              (release_pending 0) while in here

    def setup(self, vdir):
        """A new vfio-dev: release state, and the capability."""
        _write(os.path.join(vdir, 'release_pending'), '0\n')
        _write(os.path.join(vdir, 'release_requests'), '0\n')
        if self.capable:
            _write(os.path.join(vdir, 'revocations'), '0\n')
            os.mkdir(os.path.join(vdir, 'revoke'))      # refusing: nothing waits

    def pending(self, key, vdir, requests):
        """The unregistration waits for the users (a request went out)."""
        _write(os.path.join(vdir, 'release_pending'), '1\n')
        _write(os.path.join(vdir, 'release_requests'), '%d\n' % requests)
        attr = os.path.join(vdir, 'revoke')
        if not self.capable or key in self.refuse or not os.path.isdir(attr):
            return
        os.rmdir(attr)
        if key not in self.vanish:
            _write(attr, '')                             # accepting

    def take(self, key, vdir):
        """Whether "1" was written to revoke while it was accepting; if so
        counts it and restores the refusal (a second revoke is refused)."""
        attr = os.path.join(vdir, 'revoke')
        if not self.capable or not os.path.isfile(attr) or _take(attr) != '1':
            return False
        os.unlink(attr)
        os.mkdir(attr)
        count = os.path.join(vdir, 'revocations')
        _write(count, '%d\n' % (int(open(count).read()) + 1))
        self.revoked.append(key)
        return True


class FakeMdevKernel:
    """Answers writes to create and remove as the mdev core would."""

    def __init__(self, testbed, log, request_interval=1.0, revocation=None):
        self.tb = testbed
        self.log = log                      # shared with FakeKernel
        self.revocation = revocation or Revocation(None)
        self.request_interval = request_interval   # the kernel's: 10 s
        self.mdevs = {}                     # uuid -> dict
        self.held = set()
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self._next_group = 100
        self._next_vfio = 100
        # Seconds between the mdev's directory going and the instance given
        # back: a slow vendor driver's release, after the remove's job ended.
        self.give_back_delay = 0.0

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=5)
        for m in self.mdevs.values():
            os.close(m['fifo'])
        for fd in getattr(self.tb, 'create_fds', {}).values():
            os.close(fd)
        self.tb.create_fds = {}

    # -- holding ------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self, uuid):
        """Opens the mdev's /dev/vfio/N like a VM and keeps its remove
        blocked until the block ends."""
        m = self.mdevs[uuid]
        fd = os.open(self.tb.path('/dev/vfio/%d' % m['group']), os.O_RDONLY)
        with self.lock:
            self.held.add(uuid)
            _fill(m['fifo'])
        try:
            yield fd
        finally:
            os.close(fd)
            with self.lock:
                self.held.discard(uuid)

    def release_state(self, uuid):
        m = self.mdevs[uuid]
        return m['pending'], m['requests']

    # -- the kernel's part ---------------------------------------------------
    def _run(self):
        next_scan = 0.0
        while not self.stop_event.is_set():
            with self.lock:
                for (parent, type_), fd in list(getattr(self.tb, 'create_fds', {}).items()):
                    for uuid in self._written(fd):
                        self._create(parent, type_, uuid)
                scan = time.monotonic() >= next_scan
                if scan:
                    next_scan = time.monotonic() + 0.1
                for uuid in list(self.mdevs):
                    self._serve(uuid, scan)
            time.sleep(0.01)

    def _written(self, fd):
        """The UUIDs written to a create FIFO since the last look: back to
        back, 36 characters each; anything else up to a newline or the
        end is one write too (the kernel refuses it)."""
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return []
        written = []
        data = data.lstrip(b'\0\n ')
        while data:
            end = data.find(b'\n')
            n = 36 if end < 0 or end > 36 else end
            written.append(data[:n].decode(errors='replace'))
            data = data[n:].lstrip(b'\0\n ')
        return written

    def _create(self, parent, type_, uuid):
        self.log.append(('/sys/class/mdev_bus/%s/mdev_supported_types/%s/create'
                         % (parent, type_), uuid))
        p = self.tb.mdev_parents[parent]
        if (uuid in self.mdevs or len(uuid) != 36 or uuid != uuid.lower()
                or self.tb.available(parent, type_) == 0):
            self.log.append(('create refused', uuid))
            return
        syspath = '%s/%s' % (p['syspath'], uuid)
        d = self.tb.path(syspath)
        group, self._next_group = self._next_group, self._next_group + 1
        vfio, self._next_vfio = 'vfio%d' % self._next_vfio, self._next_vfio + 1
        gdir = self.tb.path('/sys/kernel/iommu_groups/%d/devices' % group)
        os.makedirs(gdir)
        os.symlink(os.path.relpath(d, gdir), os.path.join(gdir, uuid))
        # Everything in place before the device is (its /sys/bus/mdev link,
        # made by umockdev): the kernel's create is synchronous.
        vdir = os.path.join(d, 'vfio-dev', vfio)
        os.makedirs(vdir)
        # The kernel's links of a vfio-dev: back to the device, and to the
        # class, where every other vfio device is.
        os.symlink(os.path.relpath(d, vdir), os.path.join(vdir, 'device'))
        os.symlink(os.path.relpath(self.tb.path('/sys/class/vfio-dev'), vdir),
                   os.path.join(vdir, 'subsystem'))
        self.tb._write(os.path.join(vdir, 'release_pending'), '0\n')
        self.tb._write(os.path.join(vdir, 'release_requests'), '0\n')
        if self.revocation.capable:
            self.revocation.setup(vdir)
        os.makedirs(self.tb.path('/sys/class/vfio-dev'), exist_ok=True)
        os.symlink(os.path.relpath(vdir, self.tb.path('/sys/class/vfio-dev')),
                   self.tb.path('/sys/class/vfio-dev/' + vfio))
        make_node(self.tb.path('/dev/vfio/%d' % group))
        make_node(self.tb.path('/dev/vfio/devices/' + vfio))
        for attr in MDEV_ATTRS:
            os.makedirs(os.path.dirname(os.path.join(d, attr)), exist_ok=True)
            self.tb._write(os.path.join(d, attr), '')
        for attr in MDEV_REJECTED:
            os.makedirs(os.path.join(d, attr))
        os.mkfifo(os.path.join(d, 'remove'))
        fifo = os.open(os.path.join(d, 'remove'), os.O_RDWR | os.O_NONBLOCK)
        self.tb.tb.add_from_string('\n'.join([
            'P: ' + syspath[len('/sys'):], 'E: SUBSYSTEM=mdev', 'E: MDEV_TYPE=' + type_,
            'L: mdev_type=../mdev_supported_types/' + type_,
            'L: iommu_group=' + os.path.relpath(os.path.dirname(gdir), d)]) + '\n')
        self.mdevs[uuid] = dict(uuid=uuid, parent=parent, type=type_, syspath=syspath, group=group,
                                vfio=vfio, vdir=vdir, fifo=fifo,
                                fifo_id=(os.fstat(fifo).st_dev, os.fstat(fifo).st_ino),
                                pending=False, requests=0, next_request=0.0)
        self.tb.set_available(parent, type_, self.tb.available(parent, type_) - 1)
        self.tb.tb.uevent(syspath, 'add')

    def _serve(self, uuid, scan):
        m = self.mdevs[uuid]
        if uuid in self.held:
            if not m['pending'] and scan and self._write_pending(m):
                # The remove started: device_del() took the bus link and the
                # attributes; vfio-dev stays and shows the wait.
                os.unlink(self.tb.mdev_dir(uuid))
                m['pending'] = True
                self._request(m)
            elif m['pending'] and self.revocation.take(uuid, m['vdir']):
                # The holders lose the device: the remove goes on.
                self.log.append((os.path.join(m['vdir'], 'revoke')[len(self.tb.root):], '1'))
                self.held.discard(uuid)
            elif m['pending'] and time.monotonic() >= m['next_request']:
                self._request(m)
            return
        try:
            data = os.read(m['fifo'], 65536)
        except BlockingIOError:
            data = b''
        if b'1' in data:
            self._remove(uuid)
        elif m['pending'] and scan and not self._write_pending(m):
            # The writer was killed (with the daemon) during the remove: the
            # kernel's remove does not need it and ends once released.
            self._remove(uuid)

    def _request(self, m):
        m['requests'] += 1
        m['next_request'] = time.monotonic() + self.request_interval
        if m['requests'] == 1:
            self.revocation.pending(m['uuid'], m['vdir'], m['requests'])
        self.tb._write(os.path.join(m['vdir'], 'release_pending'), '1\n')
        self.tb._write(os.path.join(m['vdir'], 'release_requests'), '%d\n' % m['requests'])

    def _write_pending(self, m):
        """Whether another process has the remove FIFO open: only a remove
        in progress does (hostdevd opens it to write and then blocks)."""
        return fifo_has_writer(m['fifo_id'])

    def _remove(self, uuid):
        m = self.mdevs.pop(uuid)
        self.log.append(('/sys/bus/mdev/devices/%s/remove' % uuid, '1'))
        if m['pending']:
            self.tb._write(os.path.join(m['vdir'], 'release_pending'), '0\n')
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tb.mdev_dir(uuid))
        if self.give_back_delay:
            time.sleep(self.give_back_delay)
        # The kernel's order: the vendor driver's remove gives the instance
        # back (mtty_remove -> release) before device_del() sends the
        # remove uevent, so whoever reacts to the uevent reads the new count.
        self.tb.set_available(m['parent'], m['type'],
                              self.tb.available(m['parent'], m['type']) + 1)
        self.tb.tb.uevent(m['syspath'], 'remove')
        os.close(m['fifo'])
        for p in ('/sys/class/vfio-dev/' + m['vfio'], '/dev/vfio/%d' % m['group'],
                  '/dev/vfio/devices/' + m['vfio'],
                  '/sys/kernel/iommu_groups/%d/devices/%s' % (m['group'], uuid)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tb.path(p))
        os.rmdir(self.tb.path('/sys/kernel/iommu_groups/%d/devices' % m['group']))
        os.rmdir(self.tb.path('/sys/kernel/iommu_groups/%d' % m['group']))
        self.tb.tb.remove_device(m['syspath'])


def fifo_has_writer(fifo_id):
    """Whether a process other than this one has the FIFO of @fifo_id
    ((st_dev, st_ino)) open: hostdevd's writer, blocked in write()."""
    me = str(os.getpid())
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or pid == me:
            continue
        try:
            fds = os.listdir('/proc/%s/fd' % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat('/proc/%s/fd/%s' % (pid, fd))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == fifo_id:
                return True
    return False


def _write(p, text):
    with open(p, 'w') as f:
        f.write(text)


def make_node(p):
    """A device node as devtmpfs makes it: it appears, and nobody opens it
    (an open would look like a holder's to an inotify watch of /dev/vfio)."""
    os.mknod(p, 0o600 | stat.S_IFREG)


def _fill(fd):
    # Full to the last byte: a write of "1" must then wait.
    for chunk in (4096, 1):
        try:
            while True:
                os.write(fd, b'\0' * chunk)
        except BlockingIOError:
            pass


def _take(p):
    """Returns and clears what was written to the regular file @p."""
    try:
        with open(p) as f:
            v = f.read().strip()
    except FileNotFoundError:
        return None
    if v:
        with open(p, 'w'):
            pass
    return v or None
