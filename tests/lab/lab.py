#!/usr/bin/env python3
"""Boot the lab host (L1: our kernel + the Debian image under QEMU TCG with an
emulated Intel IOMMU) and run scenarios in it over ssh.

  lab.py check [SCENARIO...]   boot, run scenarios (default: all), power off;
                               bench-*.sh names run benchmarks (tests/lab/bench)
  lab.py demo                  boot, show the story of scenarios/90-story.sh live, power off
  lab.py up                    boot and leave it running; prints the ssh command
  lab.py ssh [CMD...]          ssh into the host started by `up`
  lab.py down                  power off the host started by `up`

Common options: --variant lab|debug (kernel), --destdir DIR (a `meson install
--destdir` tree installed over the image), --no-build (use what is cached),
--boot-timeout S, --scenario-timeout S.

Only the standard library: it must run on a fresh Debian 12 before anything
else is installed. Everything it writes goes under ${HOSTDEVD_CACHE:-/var/cache/hostdevd}/lab.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(TOP, 'tests', 'lab')
# Copied into the host as /tmp/lab/DIR each: the scenarios with the libraries
# they source (scenarios/lib), the benchmarks, which source the same
# libraries as ../scenarios/lib, and the static tools.
GUEST_DIRS = ['scenarios', 'bench', 'tools']
# Where a scenario or benchmark named on the command line is looked for.
RUN_DIRS = ['scenarios', 'bench']
CACHE = os.path.join(os.environ.get('HOSTDEVD_CACHE', '/var/cache/hostdevd'), 'lab')

# A kernel log line matching any of these fails the scenario (or the boot).
# Case-sensitive: lockdep's boot banner says "LOCKDEP", its reports "lockdep".
# Every lockdep report starts with a "WARNING: ..." banner (circular or
# recursive locking, inconsistent lock state, suspicious RCU usage, ...) or a
# "BUG: MAX_LOCKDEP_..." line, and ends by turning lockdep off; its mere
# mention ("RCU lockdep checking is enabled" at boot) is not a report.
BAD_KERNEL = re.compile(r'WARNING:|BUG:|KASAN:|UBSAN:|possible circular locking|'
                        r'Oops|turning off the locking correctness validator|'
                        r'DEBUG_LOCKS_WARN_ON|INFO: lockdep is turned off|'
                        r'Kernel panic|general protection fault|'
                        r'INFO: task .* blocked for more than')
# In the serial log during boot these mean "this boot is broken, retry once"
# (LAB-FACTS: a rare Oops: int3 in sched_clock_cpu under multi-threaded TCG).
BOOT_CRASH = re.compile(r'Oops|Kernel panic|BUG:|general protection fault')
# These will not get better by retrying (config or image problems): fail at once.
BOOT_FATAL = re.compile(r'Freezing execution|Unable to mount root fs|'
                        r'Failed to mount API filesystems')

# After a scenario the host must answer ssh within this long, or it is
# reported hung and killed.  Generous: after the race suite the debug kernel
# has needed more than one 20 s try to log a user in, while a hung host
# never answers.  The debug kernel gets twice as long: on a loaded machine
# one login after 40-race-mdev.sh took more than 150 s (2026-12-07, load 6;
# its boot to ssh took 575 s) with nothing in the kernel log.
RESPONSIVE_S = 150
RESPONSIVE_DEBUG_S = 300

# no5lvl: `-cpu max` offers LA57, and 6.12 decides pgtable_l5_enabled() from
# the CPUID bits that identify_cpu() zeroes and refills with interrupts on.
# An interrupt in that window makes KASAN (debug kernel) see the direct map
# as outside the address space and report a wild-memory-access in
# handle_edge_irq at ~0.003 s: 2 of 2 debug boots in one CI run.  4-level
# paging takes the lab out of that window; nothing here is about LA57.
KERNEL_CMDLINE = ('intel_iommu=on no5lvl console=ttyS0 root=/dev/vda rw quiet loglevel=4 '
                  'systemd.show_status=0')


def log(*a):
    print('lab:', *a, file=sys.stderr, flush=True)


def keyvals(cmd):
    """Run one of the build scripts; they print KEY=value lines last."""
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return dict(l.split('=', 1) for l in out.splitlines() if re.match(r'^[A-Z_]+=', l))


def prepare(args, rundir):
    """Kernel, base image and the overlay with modules + DESTDIR; then a
    throwaway qcow2 for this run so every boot starts from the same state."""
    build = [os.path.join(TOP, 'kernel', 'build.sh'), '--variant', args.variant]
    if args.no_build:
        build.append('--print-paths')
    k = keyvals(build)
    if not args.no_build:
        keyvals([os.path.join(LAB, 'mkrootfs.sh'), 'base'])
        # The nested guest (L2) kernel and initramfs, and the static tools the
        # scenarios run inside the host (it has no compiler).
        keyvals([os.path.join(TOP, 'kernel', 'build.sh'), '--variant', 'nested'])
        keyvals([os.path.join(LAB, 'nested', 'mkinitramfs.sh')])
        subprocess.run(['make', '-s', '-C', os.path.join(LAB, 'tools')], check=True)
    inst = [os.path.join(LAB, 'mkrootfs.sh'), 'install-overlay', '--variant', args.variant,
            '-o', os.path.join(rundir, 'installed.qcow2')]
    if args.destdir:
        inst += ['--destdir', os.path.abspath(args.destdir)]
    o = keyvals(inst)
    disk = os.path.join(rundir, 'run.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', o['OVERLAY'],
                    '-F', 'qcow2', disk], check=True)
    return {'bzimage': k['BZIMAGE'], 'disk': disk, 'key': o['SSH_KEY']}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def qemu_cmd(args, img, port, rundir):
    # The emulated host. Device layout (what the scenarios rely on):
    #   pcie.0 00:04  virtio-blk root disk, 00:05 virtio-net (user net, ssh)
    #   pcie.0 00:08  e1000e on the root bus: not hot-pluggable (failure paths)
    #   rp1 -> 01:00.0 e1000e                 (the vfio-pci bind target)
    #   rp2 -> 02:00.0 edu
    #   rp3 -> 03:00.0 e1000e + 03:00.1 edu   (multifunction, no ACS: one IOMMU group)
    #   rp4    empty hot-plug slot
    dev = [
        '-device', 'virtio-blk-pci,drive=root,bus=pcie.0,addr=0x4',
        '-netdev', f'user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:22',
        '-device', 'virtio-net-pci,netdev=net0,bus=pcie.0,addr=0x5',
        # romfile="": no iPXE ROM needed (nor installed in the image for L2).
        '-device', 'e1000e,bus=pcie.0,addr=0x8,romfile=,mac=52:54:00:12:00:08',
    ]
    # x-speed=2_5: QEMU's root ports advertise Data Link Layer Link Active
    # reporting but leave DLLLA clear with a device present (seen with the
    # default ACPI hotplug), so after a secondary bus reset a > 5 GT/s port makes the
    # kernel wait for DLLLA and fail VFIO_DEVICE_PCI_HOT_RESET with ENOTTY
    # ("Data Link Layer Link Active not set in 100 msec"). At 2.5 GT/s it
    # waits for the device's config space instead (pci_bridge_wait_for_secondary_bus).
    for i in range(1, 5):
        dev += ['-device', f'pcie-root-port,id=rp{i},bus=pcie.0,addr=0x{0x10 + i - 1:x},'
                f'chassis={i},slot={i},x-speed=2_5']
    dev += [
        '-device', 'e1000e,bus=rp1,romfile=,mac=52:54:00:12:01:00',
        '-device', 'edu,bus=rp2',
        '-device', 'e1000e,bus=rp3,addr=0.0,multifunction=on,romfile=,mac=52:54:00:12:03:00',
        '-device', 'edu,bus=rp3,addr=0.1',
    ]
    return [
        'qemu-system-x86_64',
        '-machine', 'q35,kernel-irqchip=split',
        # Single-threaded TCG: the multi-threaded one hit a boot Oops in 2/106 boots.
        '-accel', 'tcg,thread=single',
        '-cpu', 'max', '-smp', '2', '-m', args.mem,
        '-device', 'intel-iommu,intremap=on,caching-mode=on',
        '-kernel', img['bzimage'], '-append', KERNEL_CMDLINE,
        '-drive', f'if=none,id=root,file={img["disk"]},format=qcow2,cache=unsafe',
        *dev,
        '-display', 'none', '-monitor', 'none', '-nodefaults',
        '-serial', f'file:{rundir}/serial.log',
        '-qmp', f'unix:{rundir}/qmp.sock,server=on,wait=off',
    ]


class Host:
    def __init__(self, rundir, port, key, pid=None):
        self.rundir, self.port, self.key, self.pid = rundir, port, key, pid
        self.proc = None

    def ssh_argv(self, *cmd, tty=False):
        return ['ssh', '-i', self.key, '-p', str(self.port),
                '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15',
                '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=6',
                *(['-t'] if tty else []), 'root@127.0.0.1', *cmd]

    def ssh(self, cmd, timeout, input=None, check=False):
        # Never the caller's stdin: ssh makes its stdin non-blocking, and
        # the flag stays on the shared file for whoever reads it next
        # (ansible-playbook refuses to run on a non-blocking stdin).
        stdin = subprocess.DEVNULL if input is None else None
        return subprocess.run(self.ssh_argv(cmd), input=input, stdin=stdin, timeout=timeout,
                              check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def answers(self, within):
        """Seconds until the host ran `true` over ssh, None if it did not
        within `within` s.  Several tries: right after a race the debug kernel
        under TCG can take longer than one try to log a user in (sshd, PAM,
        logind behind a udev backlog), which is slow, not hung."""
        start = time.time()
        while True:
            try:
                if self.ssh('true', timeout=30).returncode == 0:
                    return time.time() - start
            except subprocess.TimeoutExpired:
                pass
            if time.time() - start >= within or not self.alive():
                return None
            time.sleep(5)

    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            os.kill(self.pid, 0)
            return True
        except OSError:
            return False

    def serial(self):
        try:
            with open(os.path.join(self.rundir, 'serial.log'), errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def qmp(self, command, timeout=30):
        """Runs one QMP command on the host's QEMU (its monitor socket) and
        returns the "return" value; raises OSError on an error reply."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(os.path.join(self.rundir, 'qmp.sock'))
            reader = s.makefile('r')

            def reply():
                while True:     # events may come before the reply
                    msg = json.loads(reader.readline())
                    if 'return' in msg or 'error' in msg:
                        return msg
            reader.readline()   # the greeting
            for cmd in ('qmp_capabilities', command):
                s.sendall(json.dumps({'execute': cmd}).encode() + b'\n')
                msg = reply()
                if 'error' in msg:
                    raise OSError(f'QMP {cmd}: {msg["error"].get("desc")}')
            return msg['return']

    def kill(self):
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def poweroff(self, timeout=90):
        """Clean shutdown so the guest's own shutdown path is exercised; kill
        it if it does not go down in time."""
        if not self.alive():
            return True
        try:
            self.ssh('systemctl poweroff', timeout=15)
        except subprocess.TimeoutExpired:
            pass
        end = time.time() + timeout
        while time.time() < end and self.alive():
            time.sleep(0.5)
        if self.alive():
            log(f'guest did not power off in {timeout} s: killed')
            self.kill()
            return False
        if self.proc is not None:
            self.proc.wait()
        return True


def boot_once(args, img, rundir):
    port = free_port()
    cmd = qemu_cmd(args, img, port, rundir)
    with open(os.path.join(rundir, 'qemu.cmd'), 'w') as f:
        f.write(' '.join(shlex.quote(c) for c in cmd) + '\n')
    for name in ('serial.log', 'qmp.sock'):
        try:
            os.unlink(os.path.join(rundir, name))
        except FileNotFoundError:
            pass
    qlog = open(os.path.join(rundir, 'qemu.log'), 'w')
    # A session of its own: `up` leaves it running after we exit, and a
    # Ctrl-C in the terminal does not kill it half-way through a scenario.
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog, stderr=subprocess.STDOUT,
                            start_new_session=True)
    host = Host(rundir, port, img['key'], proc.pid)
    host.proc = proc
    try:
        return wait_for_boot(args, host, rundir)
    except BaseException:
        # Interrupted while booting (Ctrl-C, an error): the QEMU of its own
        # session would be left running for nobody.
        host.kill()
        raise


def wait_for_boot(args, host, rundir):
    proc = host.proc
    start = time.time()
    while True:
        elapsed = time.time() - start
        if not host.alive():
            return host, None, f'QEMU exited with {proc.returncode} (see {rundir}/qemu.log)'
        serial = host.serial()
        m = BOOT_FATAL.search(serial)
        if m:
            host.kill()
            raise SystemExit(f'lab: boot failed: {m.group(0)!r}; see {rundir}/serial.log')
        m = BOOT_CRASH.search(serial)
        if m:
            host.kill()
            return host, None, f'kernel crashed during boot: {m.group(0)!r} (see serial.log)'
        if elapsed > args.boot_timeout:
            host.kill()
            return host, None, f'no ssh after {args.boot_timeout} s: killed (see serial.log)'
        try:
            if host.ssh('true', timeout=15).returncode == 0:
                return host, time.time() - start, None
        except subprocess.TimeoutExpired:
            pass
        time.sleep(1)


def boot(args, img, rundir):
    """Boot, retrying once when the first boot crashes or times out; the retry
    is reported, never hidden."""
    host, secs, err = boot_once(args, img, rundir)
    if err:
        log(f'boot failed: {err}; retrying once')
        for name in ('serial.log', 'qemu.log'):
            p = os.path.join(rundir, name)
            if os.path.exists(p):
                os.replace(p, p.replace('.log', '-attempt1.log'))
        host, secs, err2 = boot_once(args, img, rundir)
        if err2:
            raise SystemExit(f'lab: boot failed twice: {err}; then {err2}')
        log(f'BOOT-RETRY: the first boot failed ({err}); the second succeeded')
    log(f'ssh up {secs:.1f} s after QEMU started (port {host.port})')
    return host, secs, err


def copy_to_guest(host, srcdir, names, dest):
    tar = subprocess.Popen(['tar', '-C', srcdir, '-cf', '-', *names], stdout=subprocess.PIPE)
    subprocess.run(host.ssh_argv(f'mkdir -p {dest} && tar -C {dest} -xf -'), stdin=tar.stdout,
                   check=True, timeout=120)
    tar.wait()


def nested_assets():
    """The L2 kernel and initramfs, if built, for nested scenarios."""
    try:
        k = keyvals([os.path.join(TOP, 'kernel', 'build.sh'), '--variant', 'nested', '--print-paths'])
        i = keyvals([os.path.join(LAB, 'nested', 'mkinitramfs.sh')])
        return k['BZIMAGE'], i['INITRAMFS']
    except (subprocess.CalledProcessError, KeyError):
        return None


def copy_nested(host, rundir):
    """The L2 kernel and initramfs to /tmp/lab/nested in the host, if built."""
    nested = nested_assets()
    if nested:
        d = os.path.join(rundir, 'nested')
        os.makedirs(d, exist_ok=True)
        shutil.copy(nested[0], os.path.join(d, 'bzImage'))
        shutil.copy(nested[1], os.path.join(d, 'initramfs.cpio.gz'))
        copy_to_guest(host, rundir, ['nested'], '/tmp/lab')


def find_scenario(name):
    """The path of a scenario or benchmark by its file name; one that is in
    neither folder is taken as a scenario (and fails as one that is missing)."""
    for d in RUN_DIRS:
        path = os.path.join(LAB, d, name)
        if os.path.exists(path):
            return path
    return os.path.join(LAB, RUN_DIRS[0], name)


def run_scenario(host, path, resdir, timeout, live=False):
    """Run one scenario; PASS only if it exits 0, prints no FAIL line and the
    kernel log it caused has no WARN/BUG/KASAN/lockdep report. live: show its
    output as it comes (the demo) instead of when it is over."""
    name = os.path.basename(path)
    # Its folder's copy in the host: /tmp/lab/scenarios or /tmp/lab/bench.
    guest_dir = '/tmp/lab/' + os.path.basename(os.path.dirname(path))
    out_local = os.path.join(resdir, name)
    os.makedirs(out_local, exist_ok=True)
    marker = f'lab: scenario {name} start {time.time():.0f}'
    host.ssh(f'echo {shlex.quote(marker)} > /dev/kmsg', timeout=30)
    start = time.time()
    # LAB_* variables of our environment are the scenario's too (e.g.
    # LAB_RACE_ITERATIONS for the race suite); LAB_RESULTS is set here.
    env = ''.join(f'{k}={shlex.quote(v)} ' for k, v in sorted(os.environ.items())
                  if k.startswith('LAB_') and k != 'LAB_RESULTS' and re.match(r'^\w+$', k))
    cmd = (f'cd {guest_dir} && mkdir -p /tmp/lab/results/{name} && '
           f'{env}LAB_RESULTS=/tmp/lab/results/{name} timeout -k 10 {timeout} ./{name}')
    reason = None
    # Watch the serial console while the scenario runs: a panicked guest is
    # detected in seconds instead of waiting for ssh's keepalive to give up.
    serial_at = len(host.serial())
    with open(os.path.join(out_local, 'output.log'), 'w+b') as outf:
        proc = subprocess.Popen(host.ssh_argv(cmd), stdin=subprocess.DEVNULL, stdout=outf,
                                stderr=subprocess.STDOUT)
        # A reader of its own: outf's offset is shared with the child.
        reader = open(outf.name, 'rb') if live else None
        while proc.poll() is None:
            if live:
                show_new(reader)
            crash = re.search(r'Kernel panic[^\n]*', host.serial()[serial_at:])
            if crash or time.time() - start > timeout + 60:
                time.sleep(3 if crash else 0)
                proc.kill()
                reason = (f'guest crashed: {crash.group(0).strip()}' if crash
                          else f'ssh hung for {timeout + 60} s')
                break
            time.sleep(1)
        rc = proc.wait()
        if live:
            show_new(reader)
            reader.close()
        if rc == 124 and not reason:
            reason = f'timed out after {timeout} s'
        outf.seek(0)
        output = outf.read().decode(errors='replace')
    secs = time.time() - start
    if not live:
        sys.stdout.write(''.join(f'  {l}\n' for l in output.splitlines()))
    # The guest may be hung: never wait on it forever.
    within = RESPONSIVE_DEBUG_S if os.environ.get('LAB_KERNEL_VARIANT') == 'debug' else RESPONSIVE_S
    waited = host.answers(within=within)
    if waited is None:
        return name, False, secs, (reason or 'failed') + \
            f'; guest unresponsive (no ssh login for {within} s)', False
    if waited > 10:
        print(f'  (the host took {waited:.0f} s to answer ssh after the scenario)', flush=True)
    try:
        tar = host.ssh(f'tar -C /tmp/lab/results/{name} -cf - .', timeout=120)
        subprocess.run(['tar', '-C', out_local, '-xf', '-'], input=tar.stdout, check=False)
        dmesg = host.ssh('dmesg', timeout=60).stdout.decode(errors='replace')
    except subprocess.TimeoutExpired:
        return name, False, secs, 'guest stopped answering while collecting results', False
    with open(os.path.join(out_local, 'dmesg.log'), 'w') as f:
        f.write(dmesg)
    mine = dmesg[dmesg.find(marker):] if marker in dmesg else dmesg
    bad = [l for l in mine.splitlines() if BAD_KERNEL.search(l)]
    if bad:
        reason = 'kernel log: ' + bad[0].strip()
    elif rc not in (0, None) and not reason:
        reason = f'exit status {rc}'
    elif re.search(r'^FAIL', output, re.M) and not reason:
        reason = 'a FAIL line'
    return name, reason is None, secs, reason, True


def show_new(reader):
    """Print what was appended to the file since the last call."""
    sys.stdout.write(reader.read().decode(errors='replace'))
    sys.stdout.flush()


def cmd_check(args, live=False):
    stamp = time.strftime('%Y%m%d-%H%M%S')
    rundir = os.path.abspath(args.results or os.path.join(CACHE, f'run-{stamp}'))
    os.makedirs(rundir, exist_ok=True)
    scen_dir = os.path.join(LAB, 'scenarios')
    wanted = args.scenarios or sorted(f for f in os.listdir(scen_dir)
                                      if re.match(r'^\d\d-.*\.sh$', f))
    # Scenarios scale what "at once" means by it (scenarios/lib/lib.sh).
    os.environ['LAB_KERNEL_VARIANT'] = args.variant
    exclude = getattr(args, 'exclude', [])
    wanted = [os.path.basename(s) for s in wanted if os.path.basename(s) not in exclude]
    t0 = time.time()
    img = prepare(args, rundir)
    t_prep = time.time() - t0
    host, boot_secs, retried = boot(args, img, rundir)
    results, hung = [], False
    try:
        copy_to_guest(host, LAB, GUEST_DIRS, '/tmp/lab')
        copy_nested(host, rundir)
        boot_dmesg = host.ssh('dmesg', timeout=60).stdout.decode(errors='replace')
        with open(os.path.join(rundir, 'dmesg-boot.log'), 'w') as f:
            f.write(boot_dmesg)
        bad = [l for l in boot_dmesg.splitlines() if BAD_KERNEL.search(l)]
        results.append(('boot', not bad, boot_secs, 'kernel log: ' + bad[0].strip() if bad else None))
        for name in wanted:
            print(f'=== {name}', flush=True)
            r = run_scenario(host, find_scenario(name), rundir, args.scenario_timeout, live)
            results.append(r[:4])
            if not r[4]:
                hung = True
                log('guest unresponsive: killing it, remaining scenarios not run')
                break
    finally:
        if hung:
            host.kill()
        else:
            host.poweroff()
        with open(os.path.join(rundir, 'serial.log'), errors='replace') as f:
            serial = f.read()
    ok = all(r[1] for r in results) and len(results) == len(wanted) + 1
    print(f'--- lab results ({args.variant} kernel), logs in {rundir}')
    print(f'prepare {t_prep:.1f} s' + (' (boot was retried once)' if retried else ''))
    for name, passed, secs, reason in results:
        print(f'{"PASS" if passed else "FAIL"} {name} ({secs:.1f} s){": " + reason if reason else ""}')
    for name in wanted[len(results) - 1:]:
        print(f'FAIL {name}: not run')
    if BOOT_CRASH.search(serial):
        print('note: serial log has a crash pattern, see serial.log')
    print(f'total {time.time() - t0:.1f} s: {"PASS" if ok else "FAIL"}')
    return 0 if ok else 1


def cmd_demo(args):
    """The story of scenarios/90-story.sh, shown as it happens."""
    print('hostdevd demo: booting the lab host (our kernel under QEMU TCG, emulated\n'
          'Intel IOMMU, e1000e/edu devices, mtty mdevs) with hostdevd installed ...', flush=True)
    args.scenarios = ['90-story.sh']
    args.results = None
    return cmd_check(args, live=True)


STATE = os.path.join(CACHE, 'up', 'state.json')


def load_state():
    try:
        with open(STATE) as f:
            s = json.load(f)
    except FileNotFoundError:
        raise SystemExit('lab: no host running (lab.py up)')
    h = Host(s['rundir'], s['port'], s['key'], s['pid'])
    return h


def cmd_up(args):
    rundir = os.path.dirname(STATE)
    if os.path.exists(STATE):
        h = load_state()
        if h.alive():
            raise SystemExit(f'lab: already running (pid {h.pid}); lab.py down first')
    os.makedirs(rundir, exist_ok=True)
    img = prepare(args, rundir)
    host, secs, _ = boot(args, img, rundir)
    copy_nested(host, rundir)
    copy_to_guest(host, LAB, GUEST_DIRS, '/tmp/lab')
    with open(STATE, 'w') as f:
        json.dump({'pid': host.pid, 'port': host.port, 'key': img['key'], 'rundir': rundir}, f)
    print(f'lab host up after {secs:.1f} s; serial log {rundir}/serial.log')
    print('ssh: ' + ' '.join(shlex.quote(a) for a in host.ssh_argv()))
    print(f'or: {sys.argv[0]} ssh; scenarios are in /tmp/lab/scenarios, benchmarks in /tmp/lab/bench; '
          f'{sys.argv[0]} down when done')
    return 0


def cmd_ssh(args):
    h = load_state()
    os.execvp('ssh', h.ssh_argv(*args.command, tty=not args.command and sys.stdin.isatty()))


def cmd_down(args):
    h = load_state()
    clean = h.poweroff()
    os.unlink(STATE)
    print('lab host powered off' if clean else 'lab host killed')
    return 0


def main():
    # Options are accepted after the subcommand: `lab.py check --variant debug`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--variant', default=os.environ.get('HOSTDEVD_LAB_VARIANT', 'lab'),
                        choices=['lab', 'debug'])
    common.add_argument('--destdir', default=os.environ.get('HOSTDEVD_LAB_DESTDIR'))
    common.add_argument('--no-build', action='store_true', help='use cached kernel and image only')
    # The debug kernel (KASAN, lockdep) boots about 8 times slower under TCG
    # (242 s to ssh against 30 s) and runs scenarios 1.5-3 times slower.
    common.add_argument('--boot-timeout', type=int, help='default: 300 s, 900 s for debug')
    common.add_argument('--scenario-timeout', type=int, help='default: 600 s, 1200 s for debug')
    common.add_argument('--mem', default='4G')
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='sub', required=True)
    c = sub.add_parser('check', parents=[common])
    c.add_argument('scenarios', nargs='*')
    c.add_argument('--exclude', action='append', default=[], metavar='SCENARIO',
                   help='leave this scenario out (repeatable)')
    c.add_argument('--results', help='directory for logs and results')
    sub.add_parser('up', parents=[common])
    sub.add_parser('demo', parents=[common])
    s = sub.add_parser('ssh')
    s.add_argument('command', nargs=argparse.REMAINDER)
    sub.add_parser('down')
    args = p.parse_args()
    debug = getattr(args, 'variant', 'lab') == 'debug'
    if getattr(args, 'boot_timeout', 0) is None:
        args.boot_timeout = 900 if debug else 300
    if getattr(args, 'scenario_timeout', 0) is None:
        args.scenario_timeout = 1200 if debug else 600
    return {'check': cmd_check, 'demo': cmd_demo, 'up': cmd_up, 'ssh': cmd_ssh, 'down': cmd_down}[args.sub](args)


if __name__ == '__main__':
    sys.exit(main())
