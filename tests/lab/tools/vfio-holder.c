// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-holder: open a VFIO device the way a VMM does and hold it, to drive
 * the kernel's device request protocol from a lab scenario.
 *
 *   vfio-holder --release-on-request [--timeout S] DEVICE
 *   vfio-holder --ignore-requests [--register] [--hold-seconds S] DEVICE
 *
 * DEVICE is a PCI address (0000:01:00.0) bound to vfio-pci or an mdev UUID.
 * The device is opened through the group/container interface: a type1
 * container, /dev/vfio/N, VFIO_GROUP_GET_DEVICE_FD by name.
 *
 * --release-on-request registers an eventfd on VFIO_PCI_REQ_IRQ_INDEX and
 *   closes everything as soon as the kernel signals it (unbind or mdev
 *   remove while held), like QEMU after the guest has let the device go.
 *   Prints "request received after X.XXX s" (since ready) and "released".
 * --ignore-requests holds the device until SIGTERM/SIGINT or --hold-seconds;
 *   by default without an eventfd (the kernel has no request channel), with
 *   --register it registers one and reports every request it ignores.
 *
 * Every line is prefixed with [CLOCK_BOOTTIME seconds], the clock of
 * /proc/uptime, so scenarios can line up the holder's events with their
 * own. Exit status: 0 done as asked, 1 error, 2 usage, 3 timeout.
 *
 * Build: make -C tests/lab/tools (gcc -static, no libraries). Opening the
 * device is vfio-common.h, shared with vfio-race.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include "vfio-common.h"

enum mode { MODE_NONE, MODE_RELEASE, MODE_IGNORE };

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "vfio-holder: %s\n", msg);
	fprintf(stderr,
		"usage: vfio-holder --release-on-request [--timeout S] DEVICE\n"
		"       vfio-holder --ignore-requests [--register] [--hold-seconds S] DEVICE\n"
		"DEVICE: a PCI address bound to vfio-pci, or an mdev UUID\n");
	exit(2);
}

static double parse_seconds(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "vfio-holder: %s needs a number of seconds, not '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/*
 * Wait for the eventfd (if any), a signal or the deadline (< 0: none).
 * Returns the number of requests read from the eventfd, 0 on signal or
 * timeout (got_signal tells which).
 */
static uint64_t wait_event(int efd, double deadline, const sigset_t *unblocked)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;
	uint64_t n;
	double left;
	int r;

	for (;;) {
		if (deadline >= 0) {
			left = deadline - now();
			if (left <= 0)
				return 0;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
			tsp = &ts;
		}
		r = ppoll(&pfd, efd >= 0 ? 1 : 0, tsp, unblocked);
		if (r < 0 && errno != EINTR)
			die("ppoll");
		if (got_signal)
			return 0;
		if (r > 0 && (pfd.revents & POLLIN)) {
			if (read(efd, &n, sizeof(n)) != sizeof(n)) {
				if (errno == EAGAIN)
					continue;
				die("read eventfd");
			}
			return n;
		}
	}
}

int main(int argc, char **argv)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	double hold = -1, timeout = -1, ready, deadline, t;
	enum mode mode = MODE_NONE;
	int container, group_fd, device, efd = -1, i;
	const char *name = NULL, *bus;
	sigset_t block, unblocked;
	struct sigaction sa;
	int register_efd = 0;
	uint64_t n, total = 0;
	int group;

	vc_prog = "vfio-holder";

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--release-on-request"))
			mode = MODE_RELEASE;
		else if (!strcmp(argv[i], "--ignore-requests"))
			mode = MODE_IGNORE;
		else if (!strcmp(argv[i], "--register"))
			register_efd = 1;
		else if (!strcmp(argv[i], "--hold-seconds") && i + 1 < argc)
			hold = parse_seconds("--hold-seconds", argv[++i]);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = parse_seconds("--timeout", argv[++i]);
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			usage(NULL);
		else if (argv[i][0] == '-')
			usage("unknown option or missing value");
		else if (!name)
			name = argv[i];
		else
			usage("only one device");
	}
	if (mode == MODE_NONE || !name)
		usage("a mode and a device are needed");
	if (mode == MODE_RELEASE)
		register_efd = 1;
	if (mode == MODE_RELEASE && hold >= 0)
		usage("--hold-seconds goes with --ignore-requests");
	if (mode == MODE_IGNORE && timeout >= 0)
		usage("--timeout goes with --release-on-request");

	/* SIGTERM/SIGINT are only delivered inside ppoll(): no races. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);

	say("pid %d, %s %s", getpid(), name,
	    mode == MODE_RELEASE ? "--release-on-request" : "--ignore-requests");
	group = iommu_group_of(name, &bus);
	say("%s device %s is in IOMMU group %d", bus, name, group);
	container = open_container();
	group_fd = open_group(container, group, name);

	device = open_device(group_fd, name, &info);

	if (register_efd)
		efd = register_request_eventfd(device, &info);

	ready = now();
	if (mode == MODE_RELEASE) {
		say("ready: holding %s, will release it on the first request", name);
		n = wait_event(efd, timeout >= 0 ? ready + timeout : -1, &unblocked);
		if (!n && got_signal) {
			errno = 0;
			die("signal %d before any request: not released on request", got_signal);
		}
		if (!n) {
			fprintf(stderr, "[%10.3f] vfio-holder: error: no request within %.1f s\n",
				now(), timeout);
			printf("[%10.3f] vfio-holder: TIMEOUT\n", now());
			return 3;
		}
		say("request received after %.3f s (eventfd count %llu)", now() - ready,
		    (unsigned long long)n);
	} else {
		say("ready: holding %s %s, ignoring requests (%s)", name,
		    hold >= 0 ? "for a while" : "until SIGTERM",
		    efd >= 0 ? "eventfd registered" : "no request eventfd");
		deadline = hold >= 0 ? ready + hold : -1;
		while ((n = wait_event(efd, deadline, &unblocked))) {
			total += n;
			say("request #%llu received after %.3f s, ignored",
			    (unsigned long long)total, now() - ready);
		}
		if (got_signal)
			say("signal %d after %.3f s: releasing", got_signal, now() - ready);
		else
			say("held for %.3f s: releasing", now() - ready);
	}

	t = now();
	if (efd >= 0)
		close(efd);
	if (close(device))
		die("close device fd");
	if (close(group_fd))
		die("close group fd");
	if (close(container))
		die("close container fd");
	say("released (close took %.3f s)", now() - t);
	return 0;
}
