#!/usr/bin/env python3
"""The ansible playbook (ansible/site.yml) against a fresh lab host.

  tests/ansible/run-lab.py --deb build-deb/hostdevd_VERSION_amd64.deb [--no-build] [--results DIR]
  tests/ansible/run-lab.py --only silent [--no-build]   (one step alone, minutes)

Boots the emulated hypervisor of tests/lab (tests/lab/lab.py) without
hostdevd, then over ssh, as an operator would:

  run 1     ansible-playbook site.yml installs the package (copied from the
            controller), writes the IOMMU GRUB drop-in and modules-load.d,
            enables hostdevd, binds two devices persistently (one alone in
            its IOMMU group, one with --group) and defines an autostart mdev;
            the new command line makes its handlers run update-grub, reboot
            the host and wait for hostdevd to answer
  boot      run 1 rebooted the host once, and grub.cfg boots the kernel
            with the IOMMU command line
  host      the host says so: service active and enabled, bindings on
            vfio-pci and persistent, the mdev active and defined, the files
  run 2     the same playbook again changes nothing (changed=0) and does
            not reboot
  reboot    after a reboot the bindings and the mdev are back, and udev
            started hostdevd for the bound devices and the mdev parent
            (70-hostdevd.rules: the device units want hostdevd.service)
  check     a binding undone by hand: --check --diff reports exactly that
            (changed=1) and changes nothing
  silent    the host stops answering mid-connection (its QEMU paused:
            the user network keeps the TCP connection open and never sends
            a RST): ansible, through the ControlMaster it opened while the
            host answered, reports it UNREACHABLE instead of waiting for
            ever (ansible.cfg's ssh keep-alives), and once the host runs
            again it answers again

The lab boots its kernel with QEMU's -kernel and the command line lab.py
gives it, so GRUB's part is checked in grub.cfg, which update-grub writes
for the kernel in /boot as on a host (mkrootfs.sh puts the lab's kernel
there).  The kernel package is off (hostdevd_install_kernel: a kernel the
lab would not boot); docs/operations.md says what that leaves untested.

Prints what happens, then a "--- lab results" block of PASS/FAIL lines
(scripts/summarize.py counts them); exits 1 when any failed.  Logs in
$HOSTDEVD_CACHE/lab/ansible-DATE/.
"""
import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
ANSIBLE = os.path.join(TOP, 'ansible')
sys.path.insert(0, os.path.join(TOP, 'tests', 'lab'))
import lab  # noqa: E402

# The lab's devices, found by MAC (bus numbers are the kernel's choice).
NIC_ALONE = '52:54:00:12:01:00'     # rp1: alone in its IOMMU group
NIC_PAIR = '52:54:00:12:03:00'      # rp3: function 0 of a pair in one group
MDEV_UUID = '6d5c2a8e-2f4e-4a9e-9b1f-3c1d2e4f5a61'
# A playbook run that takes longer is killed and fails: run 1 takes 3-5 min
# under TCG; a hang must not push CI past its 90 minutes.
PLAYBOOK_TIMEOUT_S = 900
# ansible.cfg's keep-alives give a silent host up after 4 x 15 s; an ad-hoc
# command still running this long later is hung (and killed).
SILENT_HOST_TIMEOUT_S = 300
# Every result line, in order: those a failure before them left out are
# reported as not run.
STEPS = [
    'ansible: a fresh lab host',
    'ansible: run 1 applies the role',
    'ansible: run 1 rebooted the host through its handler, grub.cfg has the IOMMU command line',
    'ansible: the host is as the inventory says',
    'ansible: run 2 changes nothing',
    'ansible: the host reboots',
    'ansible: after a reboot bindings and mdev are back, udev started hostdevd',
    'ansible: --check --diff reports the one drift and changes nothing',
    'ansible: a host that stops answering mid-connection is reported unreachable, not waited for',
]
RECAP = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


def say(*a):
    print(*a, flush=True)


class Run:
    def __init__(self, args):
        stamp = time.strftime('%Y%m%d-%H%M%S')
        self.rundir = os.path.abspath(args.results or os.path.join(lab.CACHE, f'ansible-{stamp}'))
        os.makedirs(self.rundir, exist_ok=True)
        self.deb = os.path.abspath(args.deb) if args.deb else None
        self.args = args
        self.host = None
        self.results = []       # (name, passed, detail)
        self.recaps = []

    def result(self, name, passed, detail=''):
        self.results.append((name, passed, detail))
        say(f'{"ok" if passed else "FAILED"}: {name}{": " + detail if detail else ""}')
        return passed

    # -- the host ------------------------------------------------------------
    def sh(self, cmd, timeout=120):
        r = self.host.ssh(cmd, timeout=timeout)
        return r.returncode, r.stdout.decode(errors='replace')

    def addresses(self):
        _, out = self.sh('for n in /sys/class/net/*; do [ -e $n/device ] && '
                         'echo $(cat $n/address) $(basename $(readlink -f $n/device)); done')
        by_mac = dict(l.split() for l in out.splitlines() if len(l.split()) == 2)
        missing = [m for m in (NIC_ALONE, NIC_PAIR) if m not in by_mac]
        if missing:
            raise SystemExit(f'run-lab: no NIC with MAC {missing} in the lab host:\n{out}')
        return by_mac[NIC_ALONE], by_mac[NIC_PAIR]

    def inventory(self, alone, pair):
        inv = {'all': {'children': {'hypervisors': {'hosts': {'lab': {
            'ansible_host': '127.0.0.1',
            'ansible_port': self.host.port,
            'ansible_user': 'root',
            'ansible_ssh_private_key_file': self.host.key,
            'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
            # root already, and the image has no sudo.
            'ansible_become': False,
            'hostdevd_package_source': 'path',
            'hostdevd_deb_path': self.deb,
            # The lab boots QEMU's -kernel: a kernel package would not be
            # booted.  GRUB's config and the reboot handler are real.
            'hostdevd_install_kernel': False,
            'hostdevd_manage_boot': True,
            # A lab reboot takes a minute or two: one that never comes back
            # fails here, not after the default half hour.
            'hostdevd_reboot_timeout': 600,
            'hostdevd_mdev_modules': ['mtty'],
            'hostdevd_bindings': [{'address': alone}, {'address': pair, 'group': True}],
            'hostdevd_mdevs': [{'uuid': MDEV_UUID, 'parent': 'mtty', 'type': 'mtty-2',
                                'autostart': True}],
        }}}}}}
        path = os.path.join(self.rundir, 'inventory.yml')
        with open(path, 'w') as f:
            json.dump(inv, f, indent=2)     # JSON is YAML
        return path

    # -- ansible -------------------------------------------------------------
    def ansible(self, name, cmd, timeout):
        """Runs an ansible command in ansible/ with its ansible.cfg, shown as
        it goes (a run takes minutes under TCG) and kept in a log.  Returns
        (process, output, killed): one still running after @timeout s (a
        job waiting for a holder forever, a hung connection) is killed."""
        log = os.path.join(self.rundir, f'{name.replace(" ", "-")}.log')
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ANSIBLE, 'ansible.cfg'),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_HOST_KEY_CHECKING='False',
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.rundir, 'ansible-tmp'))
        say(f'=== {name}: {" ".join(shlex.quote(c) for c in cmd)}')
        lines = []
        # stdin: nothing to ask (and ansible refuses a non-blocking one).
        # Its own process group, killed whole: ansible's forked workers and
        # their ssh clients hold the output pipe, and a hung one outlives a
        # kill of ansible alone (the read below then never ends).
        with open(log, 'w') as f, subprocess.Popen(cmd, cwd=ANSIBLE, env=env, text=True,
                                                   stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.PIPE,
                                                   stderr=subprocess.STDOUT,
                                                   start_new_session=True) as proc:
            def kill_group():
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            watchdog = threading.Timer(timeout, kill_group)
            watchdog.start()
            for line in proc.stdout:
                f.write(line)
                lines.append(line)
                sys.stdout.write('  ' + line)
                sys.stdout.flush()
            killed = not watchdog.is_alive()
            watchdog.cancel()
        return proc, ''.join(lines), killed

    def playbook(self, name, *extra):
        t0 = time.time()
        proc, output, _ = self.ansible(name, ['ansible-playbook', '-i', self.inv, 'site.yml', *extra],
                                       PLAYBOOK_TIMEOUT_S)
        m = [r for r in RECAP.findall(output) if r[0] == 'lab']
        recap = None
        if m:
            _, ok, changed, unreachable, failed = m[-1]
            recap = dict(ok=int(ok), changed=int(changed), unreachable=int(unreachable),
                         failed=int(failed), rc=proc.returncode, secs=time.time() - t0)
            line = f'lab : ok={ok} changed={changed} unreachable={unreachable} failed={failed}'
            self.recaps.append(f'{name}: {line} ({recap["secs"]:.0f} s)')
        return recap, output

    @staticmethod
    def summary(recap):
        if recap is None:
            return 'no PLAY RECAP (see the log)'
        return (f'ok={recap["ok"]} changed={recap["changed"]} unreachable={recap["unreachable"]} '
                f'failed={recap["failed"]}, exit {recap["rc"]} ({recap["secs"]:.0f} s)')

    def ran_clean(self, recap):
        return recap is not None and recap['rc'] == 0 and recap['failed'] == 0 \
            and recap['unreachable'] == 0

    # -- checks on the host --------------------------------------------------
    def state(self):
        rc1, devices = self.sh('hostdevctl list --json')
        rc2, mdevs = self.sh('hostdevctl mdev list --json')
        if rc1 or rc2:
            return None, None
        return ({d['address']: d for d in json.loads(devices)['devices']},
                {m['uuid']: m for m in json.loads(mdevs)['mdevs']})

    def check_host(self, alone, pair):
        problems = []

        def want(cond, what):
            if not cond:
                problems.append(what)

        _, active = self.sh('systemctl is-active hostdevd; systemctl is-enabled hostdevd')
        want(active.split() == ['active', 'enabled'], f'hostdevd.service active, enabled (got {active.split()})')
        rc, _ = self.sh("dpkg-query -W -f='${Status}' hostdevd | grep -qx 'install ok installed'")
        want(rc == 0, 'package hostdevd installed')
        devices, mdevs = self.state()
        if devices is None:
            return ['hostdevctl answers']
        for a in (alone, pair):
            d = devices.get(a, {})
            want(d.get('driver') == 'vfio-pci' and d.get('persistent'),
                 f'{a} on vfio-pci, persistent (got {d.get("driver")}, {d.get("persistent")})')
        m = mdevs.get(MDEV_UUID, {})
        want(m.get('active') and m.get('defined') and m.get('autostart')
             and m.get('type') == 'mtty-2', f'mdev {MDEV_UUID} active, defined, autostart ({m})')
        _, vendor = self.sh("sed -n 's/^vendor_id\\s*: //p' /proc/cpuinfo | head -n1")
        cmdline = {'GenuineIntel': 'intel_iommu=on iommu=pt', 'AuthenticAMD': 'iommu=pt'}.get(vendor.strip())
        rc, _ = self.sh(f'grep -qx \'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX {cmdline}"\' '
                        '/etc/default/grub.d/hostdevd-iommu.cfg')
        want(cmdline and rc == 0, f'GRUB drop-in with "{cmdline}" for {vendor.strip()}')
        rc, _ = self.sh('grep -qx vfio_pci /etc/modules-load.d/hostdevd.conf && '
                        'grep -qx mtty /etc/modules-load.d/hostdevd.conf')
        want(rc == 0, 'modules-load.d lists vfio_pci and mtty')
        return problems

    def converged(self, alone, pair, timeout=90):
        """check_host, again until it holds or @timeout passes: after a boot
        hostdevd's own jobs may still be binding."""
        deadline = time.time() + timeout
        while True:
            problems = self.check_host(alone, pair)
            if not problems or time.time() > deadline:
                return problems
            time.sleep(3)

    def boot_id(self):
        try:
            rc, out = self.sh('cat /proc/sys/kernel/random/boot_id', timeout=20)
        except subprocess.TimeoutExpired:
            return None
        return out.strip() if rc == 0 else None

    def reboot(self):
        """Reboots the host and waits until the new boot is up (a new
        boot_id: the old system answers ssh for a moment while it goes)."""
        before = self.boot_id()
        serial_at = len(self.host.serial())
        try:
            self.sh('systemctl reboot', timeout=15)
        except subprocess.TimeoutExpired:
            pass    # the connection may go down with the host
        deadline = time.time() + self.args.boot_timeout
        while time.time() < deadline:
            time.sleep(3)
            if lab.BOOT_CRASH.search(self.host.serial()[serial_at:]):
                return False, 'kernel crashed during the reboot (serial.log)'
            now = self.boot_id()
            if now and now != before:
                try:
                    self.sh('systemctl is-system-running --wait >/dev/null', timeout=180)
                except subprocess.TimeoutExpired:
                    pass    # a degraded or slow boot still gets checked
                return True, ''
        return False, f'no new boot {self.args.boot_timeout} s after the reboot'

    def booted_by_handler(self, before, after):
        """Run 1's handlers: a reboot (a new boot_id) and update-grub's menu
        entry for the kernel in /boot with the drop-in's command line."""
        problems = []
        if not before or not after or before == after:
            problems.append(f'no reboot (boot_id {before} before, {after} after)')
        _, cmdline = self.sh("sed -n 's/^GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX \\(.*\\)\"$/\\1/p' "
                             '/etc/default/grub.d/hostdevd-iommu.cfg')
        _, entry = self.sh("grep -m1 '^[[:space:]]*linux[[:space:]]*/boot/vmlinuz-' /boot/grub/grub.cfg")
        if not cmdline.strip() or cmdline.strip() not in entry:
            problems.append(f'grub.cfg\'s first linux line {entry.strip()!r} lacks {cmdline.strip()!r}')
        detail = '; '.join(problems) or f'boot_id {before[:8]} -> {after[:8]}; {entry.strip()}'
        return not problems, detail

    def udev_started(self, alone):
        """The device units of the bound device and of the mdev parent want
        hostdevd.service: 70-hostdevd.rules took effect at boot."""
        _, out = self.sh('systemctl show -p WantedBy --value hostdevd.service')
        units = out.split()
        return (any(u.endswith(f'-{alone}.device') for u in units)
                and 'sys-devices-virtual-mtty-mtty.device' in units), ' '.join(units)

    def silent_host(self):
        """The hang the keep-alives exist for: a ControlMaster opened while
        the host answered, then the host goes silent without closing the
        connection.  QEMU paused keeps its user network's end of the TCP
        connection open and never answers on it, as a dead host behind a
        NAT does."""
        adhoc = ['ansible', 'lab', '-i', self.inv, '-m', 'ansible.builtin.command', '-a', 'true']
        proc, out, _ = self.ansible('silent host 1 answering', adhoc, SILENT_HOST_TIMEOUT_S)
        if proc.returncode != 0:
            return False, f'the host did not answer before it was paused: exit {proc.returncode}'
        self.host.qmp('stop')
        t0 = time.monotonic()
        try:
            proc, out, killed = self.ansible('silent host 2 paused', adhoc, SILENT_HOST_TIMEOUT_S)
        finally:
            self.host.qmp('cont')
        waited = time.monotonic() - t0
        if killed:
            return False, f'ansible still waited after {SILENT_HOST_TIMEOUT_S} s (killed)'
        if proc.returncode != 4 or 'UNREACHABLE' not in out:
            return False, f'paused host: exit {proc.returncode}, expected 4 (unreachable)'
        for _ in range(10):     # the clock jumped; sshd may need a moment
            again, _, _ = self.ansible('silent host 3 running again', adhoc, SILENT_HOST_TIMEOUT_S)
            if again.returncode == 0:
                return True, f'paused: UNREACHABLE (exit 4) after {waited:.0f} s; running again: answers'
            time.sleep(5)
        return False, f'the host did not answer after it ran again: exit {again.returncode}'

    # -- the whole run -------------------------------------------------------
    def main(self):
        args = argparse.Namespace(variant='lab', no_build=self.args.no_build, destdir=None,
                                  boot_timeout=self.args.boot_timeout, mem='4G')
        t0 = time.time()
        img = lab.prepare(args, self.rundir)
        self.host, secs, _ = lab.boot(args, img, self.rundir)
        try:
            if self.args.only == 'silent':
                self.only_silent(secs)
            else:
                self.steps(secs)
        except (subprocess.SubprocessError, OSError, ValueError, KeyError, SystemExit) as e:
            # The host stopped answering, or said something unexpected.
            name = STEPS[len(self.results)] if len(self.results) < len(STEPS) else 'ansible: the test'
            self.result(name, False, f'{type(e).__name__}: {e}')
        finally:
            self.host.poweroff()
        done = {name for name, _, _ in self.results}
        for name in STEPS if self.args.only is None else STEPS[-1:]:
            if name not in done:
                self.results.append((name, False, 'not run'))
        say(f'--- lab results (ansible/site.yml against a fresh lab host), logs in {self.rundir}')
        for r in self.recaps:
            say(f'recap {r}')
        for name, passed, detail in self.results:
            say(f'{"PASS" if passed else "FAIL"} {name}{": " + detail if detail else ""}')
        ok = all(p for _, p, _ in self.results)
        say(f'total {time.time() - t0:.0f} s: {"PASS" if ok else "FAIL"}')
        return 0 if ok else 1

    def only_silent(self, boot_secs):
        """--only silent: the last step alone, on a fresh host (it needs no
        role), in a few minutes instead of twenty.  With ANSIBLE_SSH_ARGS
        set to ssh_args without the keep-alives it shows what they are for:
        ansible then waits until it is killed (docs/hardening.md, class 8)."""
        say(f'host up in {boot_secs:.0f} s; ssh_args: '
            f'{os.environ.get("ANSIBLE_SSH_ARGS", "ansible.cfg")}')
        self.inv = self.inventory(*self.addresses())
        self.result(STEPS[-1], *self.silent_host())

    def steps(self, boot_secs):
        rc, _ = self.sh('test ! -e /usr/bin/hostdevctl && ! systemctl cat hostdevd >/dev/null 2>&1')
        if not self.result('ansible: a fresh lab host', rc == 0,
                           f'up in {boot_secs:.0f} s, no hostdevd' if rc == 0 else 'hostdevd is there'):
            return
        alone, pair = self.addresses()
        self.inv = self.inventory(alone, pair)

        boot0 = self.boot_id()
        recap, _ = self.playbook('run 1')
        if not self.result('ansible: run 1 applies the role', self.ran_clean(recap) and recap['changed'] > 0,
                           self.summary(recap)):
            return
        boot1 = self.boot_id()
        self.result('ansible: run 1 rebooted the host through its handler, grub.cfg has the IOMMU command line',
                    *self.booted_by_handler(boot0, boot1))
        problems = self.check_host(alone, pair)
        # Not fatal: what follows still says something.
        self.result('ansible: the host is as the inventory says', not problems, '; '.join(problems))

        recap, _ = self.playbook('run 2')
        boot2 = self.boot_id()
        self.result('ansible: run 2 changes nothing', self.ran_clean(recap) and recap['changed'] == 0
                    and boot2 == boot1,
                    self.summary(recap) + ('' if boot2 == boot1 else '; but the host rebooted'))

        ok, why = self.reboot()
        if not self.result('ansible: the host reboots', ok, why):
            return
        problems = self.converged(alone, pair)
        started, units = self.udev_started(alone)
        if not started:
            problems.append(f'hostdevd.service wanted by the device units of {alone} and mtty '
                            f'(WantedBy={units})')
        self.result('ansible: after a reboot bindings and mdev are back, udev started hostdevd',
                    not problems, '; '.join(problems))

        # A binding undone by hand: check mode sees it and leaves it.
        self.sh(f'hostdevctl restore {alone}')
        recap, out = self.playbook('check mode', '--check', '--diff')
        devices, _ = self.state()
        untouched = devices is not None and devices[alone]['driver'] != 'vfio-pci'
        self.result('ansible: --check --diff reports the one drift and changes nothing',
                    self.ran_clean(recap) and recap['changed'] == 1 and untouched
                    and f'before: {alone}' in out and '+driver: vfio-pci' in out,
                    f'{self.summary(recap)}; {alone} left off vfio-pci: {untouched}')

        self.result('ansible: a host that stops answering mid-connection is reported unreachable, '
                    'not waited for', *self.silent_host())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--deb', help='the hostdevd .deb (make deb-hostdevd); not needed with --only silent')
    p.add_argument('--only', choices=['silent'],
                   help='run one step alone on a fresh host: silent (the host that stops answering)')
    p.add_argument('--no-build', action='store_true',
                   help='use the cached lab kernel and image; fail if there are none')
    p.add_argument('--boot-timeout', type=int, default=300)
    p.add_argument('--results', help='directory for logs (default: $HOSTDEVD_CACHE/lab/ansible-DATE)')
    args = p.parse_args()
    if args.only is None and args.deb is None:
        p.error('--deb is required (but with --only silent)')
    if args.deb is not None and not os.path.isfile(args.deb):
        raise SystemExit(f'run-lab: {args.deb} not found (make deb-hostdevd)')
    return Run(args).main()


if __name__ == '__main__':
    sys.exit(main())
