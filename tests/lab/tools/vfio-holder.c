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
 * Build: make -C tests/lab/tools (gcc -static, no libraries).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

enum mode { MODE_NONE, MODE_RELEASE, MODE_IGNORE };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("[%10.3f] vfio-holder: ", now());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* An error: say what failed and why, then exit 1. */
static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "[%10.3f] vfio-holder: error: ", now());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	printf("[%10.3f] vfio-holder: FAILED\n", now());
	exit(1);
}

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

/* The IOMMU group number of a device, from its iommu_group link. */
static int iommu_group_of(const char *name, const char **bus)
{
	static const char *const buses[] = { "pci", "mdev" };
	char path[PATH_MAX], target[PATH_MAX];
	unsigned int i;
	ssize_t n;
	char *end;
	long group;

	for (i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		snprintf(path, sizeof(path), "/sys/bus/%s/devices/%s", buses[i], name);
		if (access(path, F_OK))
			continue;
		*bus = buses[i];
		snprintf(path, sizeof(path), "/sys/bus/%s/devices/%s/iommu_group", buses[i], name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			die("%s has no IOMMU group (%s); is it bound to a vfio driver?", name, path);
		target[n] = 0;
		errno = 0;
		group = strtol(basename(target), &end, 10);
		if (*end || group < 0)
			die("unexpected IOMMU group link %s -> %s", path, target);
		return (int)group;
	}
	errno = 0;
	die("no PCI device or mdev named %s in /sys/bus/{pci,mdev}/devices", name);
	return -1;
}

/* The container: /dev/vfio/vfio with the API version this tool knows. */
static int open_container(void)
{
	int fd, version;

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/vfio/vfio (is the vfio module loaded?)");
	version = ioctl(fd, VFIO_GET_API_VERSION);
	if (version != VFIO_API_VERSION) {
		errno = 0;
		die("VFIO API version %d, this tool knows %d", version, VFIO_API_VERSION);
	}
	return fd;
}

static int open_group(int container, int group, const char *name)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];
	int fd, iommu;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s (the group of %s)", path, name);
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS on %s", path);
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = 0;
		die("group %s is not viable: all its devices must be bound to vfio drivers", path);
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER for %s", path);

	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		iommu = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		iommu = VFIO_TYPE1_IOMMU;
	else if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) > 0)
		iommu = VFIO_NOIOMMU_IOMMU;
	else {
		errno = 0;
		die("the container offers no type1 IOMMU (is vfio_iommu_type1 loaded?)");
	}
	if (ioctl(container, VFIO_SET_IOMMU, iommu))
		die("VFIO_SET_IOMMU(%d)", iommu);
	say("group %s in a container with the %s IOMMU", path,
	    iommu == VFIO_TYPE1v2_IOMMU ? "type1v2" :
	    iommu == VFIO_TYPE1_IOMMU ? "type1" : "no-IOMMU");
	return fd;
}

/* Register (fd >= 0) or unregister (fd == -1) the request eventfd. */
static void set_req_trigger(int device, int32_t efd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_REQ_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(efd));
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, set))
		die("VFIO_DEVICE_SET_IRQS(VFIO_PCI_REQ_IRQ_INDEX, eventfd %d)", efd);
}

static int register_request_eventfd(int device, const struct vfio_device_info *info)
{
	struct vfio_irq_info irq = {
		.argsz = sizeof(irq),
		.index = VFIO_PCI_REQ_IRQ_INDEX,
	};
	int efd;

	errno = 0;
	if (!(info->flags & VFIO_DEVICE_FLAGS_PCI) || info->num_irqs <= VFIO_PCI_REQ_IRQ_INDEX)
		die("the device has no VFIO_PCI_REQ_IRQ_INDEX (flags %#x, %u irqs)",
		    info->flags, info->num_irqs);
	if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &irq))
		die("VFIO_DEVICE_GET_IRQ_INFO(VFIO_PCI_REQ_IRQ_INDEX): the driver does not "
		    "offer the device request interrupt");
	if (irq.count < 1 || !(irq.flags & VFIO_IRQ_INFO_EVENTFD)) {
		errno = 0;
		die("VFIO_PCI_REQ_IRQ_INDEX has count %u, flags %#x: no eventfd request channel",
		    irq.count, irq.flags);
	}
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		die("eventfd");
	set_req_trigger(device, efd);
	say("request eventfd registered on VFIO_PCI_REQ_IRQ_INDEX (count %u, flags %#x)",
	    irq.count, irq.flags);
	return efd;
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

	device = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
	if (device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD(%s)", name);
	if (ioctl(device, VFIO_DEVICE_GET_INFO, &info))
		die("VFIO_DEVICE_GET_INFO");
	say("device fd %d: flags %#x, %u regions, %u irqs", device, info.flags,
	    info.num_regions, info.num_irqs);

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
