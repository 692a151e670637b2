// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-revokee: a user of a VFIO device that the kernel revokes (kernel patch
 * 7, /sys/class/vfio-dev/vfioX/revoke), for the lab's races R11-R15
 * (LIFECYCLE.md). It keeps using the device the way a VMM does while the
 * scenario unbinds/removes it and writes revoke, and reports what it saw.
 *
 *   vfio-revokee [--fault N] [--ioctls] [--close-on-usr1] [--hold-seconds S]
 *                DEVICE [OTHER]
 *
 * DEVICE (a PCI address bound to vfio-pci, or an mdev UUID) is opened through
 * a type1 container and its group. OTHER, a device of the same group, is
 * opened too and must keep working after DEVICE is revoked (R15).
 *
 * Always: a request eventfd is registered when the driver offers one (the
 * kernel's request reaches us and is ignored: we are the guest that does not
 * answer), and a thread polls the device fd with no events: it wakes up only
 * for POLLHUP/POLLERR, i.e. the revocation, and prints "revoked: poll".
 * --fault N: mmap the first mmappable region (BAR 0 of a PCI device, the
 *   framebuffer of mdpy/mbochs), up to 64 KiB, N threads reading one word of
 *   every page in a loop. No read may SIGBUS; every read that starts after
 *   the poll saw the revocation must return 0xffffffff.
 * --ioctls: three threads loop on VFIO_DEVICE_GET_REGION_INFO, a pread of
 *   config space (region 7 of a PCI device) or of region 0, and
 *   VFIO_DEVICE_SET_IRQS (register/unregister the request eventfd). Each call
 *   must succeed before the revocation and fail with ENODEV after it: never
 *   another errno, never a success after the first ENODEV.
 * --close-on-usr1: on SIGUSR1 close the device, group and container fds at
 *   once (R13: the holder's own close racing with the revocation), then
 *   report and exit.
 * --hold-seconds S: stop after S seconds instead of at SIGTERM/SIGINT.
 *
 * At the end (signal or deadline) the threads stop and, if the device was
 * revoked, a new mmap, read and ioctl must fail with ENODEV; OTHER must still
 * answer VFIO_DEVICE_GET_INFO; every fd must close. Prints "summary: ..."
 * lines, then "released" and exits 0, or "FAIL: ..." lines and exits 1.
 * Exit 2: usage. Build: make -C tests/lab/tools.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <linux/pci_regs.h>
#include "vfio-common.h"

static atomic_int stop, revoked, closing, failed;
static double revoked_at;
static int device = -1;

#define FAILF(...) do { say("FAIL: " __VA_ARGS__); atomic_store(&failed, 1); } while (0)

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "vfio-revokee: %s\n", msg);
	fprintf(stderr,
		"usage: vfio-revokee [--fault N] [--ioctls] [--close-on-usr1] [--hold-seconds S]\n"
		"                    DEVICE [OTHER]\n");
	exit(2);
}

static void on_sigbus(int sig)
{
	static const char msg[] = "vfio-revokee: FAIL: SIGBUS\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(4);
	_exit(4);
}

/* ---- poll: the revocation is the only event of a device fd -------------- */

static void *poll_thread(void *arg)
{
	struct pollfd pfd = { .fd = device, .events = 0 };
	int r;

	(void)arg;
	while (!atomic_load(&stop)) {
		r = poll(&pfd, 1, 200);
		if (r < 0 && errno != EINTR) {
			FAILF("poll: %s", strerror(errno));
			return NULL;
		}
		if (r <= 0)
			continue;
		if (pfd.revents & POLLNVAL)	/* our own close (R13) */
			return NULL;
		if ((pfd.revents & (POLLHUP | POLLERR)) != (POLLHUP | POLLERR))
			FAILF("poll: revents %#x, not POLLHUP|POLLERR", pfd.revents);
		revoked_at = now();
		atomic_store(&revoked, 1);
		say("revoked: poll revents %#x (POLLHUP|POLLERR)", pfd.revents);
		return NULL;
	}
	return NULL;
}

/* ---- faults on a mapping of the device ---------------------------------- */

struct mapping {
	unsigned int index;
	off_t offset;
	size_t size;
	volatile uint32_t *map;
};

static struct mapping map;
static atomic_ulong reads_before, device_before, reads_after, bad_after;
static atomic_uint last_before, first_bad;

static void *fault_thread(void *arg)
{
	size_t off;
	uint32_t v;
	int after;

	(void)arg;
	while (!atomic_load(&stop)) {
		for (off = 0; off < map.size; off += 4096) {
			after = atomic_load(&revoked);
			v = map.map[off / 4];
			if (!after) {
				atomic_fetch_add(&reads_before, 1);
				if (v != 0xffffffff)	/* the device (or its memory) answered */
					atomic_fetch_add(&device_before, 1);
				atomic_store(&last_before, v);
			} else {
				atomic_fetch_add(&reads_after, 1);
				if (v != 0xffffffff && !atomic_fetch_add(&bad_after, 1))
					atomic_store(&first_bad, v);
			}
		}
		usleep(100);	/* leave the (TCG) CPUs to the scenario */
	}
	return NULL;
}

static void map_region(const struct vfio_device_info *info)
{
	struct vfio_region_info reg;
	unsigned int i;

	for (i = 0; i < info->num_regions; i++) {
		memset(&reg, 0, sizeof(reg));
		reg.argsz = sizeof(reg);
		reg.index = i;
		if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &reg))
			continue;
		if ((reg.flags & VFIO_REGION_INFO_FLAG_MMAP) && reg.size >= 4096)
			break;
	}
	if (i == info->num_regions) {
		errno = 0;
		die("no mmappable region");
	}
	if (info->flags & VFIO_DEVICE_FLAGS_PCI)
		enable_memory(device);
	map.index = i;
	map.offset = reg.offset;
	map.size = reg.size < 65536 ? reg.size : 65536;
	map.map = mmap(NULL, map.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, map.offset);
	if (map.map == MAP_FAILED)
		die("mmap region %u", i);
	say("region %u mapped: %zu of %llu bytes, first word %#x", i, map.size,
	    (unsigned long long)reg.size, map.map[0]);
}

/* ---- ioctls and preads in flight ---------------------------------------- */

struct calls {
	const char *what;
	int (*call)(void);
	atomic_ulong ok, enodev, other, ok_after_enodev;
	atomic_int bad_errno;
};

static int efd = -1;
static off_t pread_offset;

static int call_region_info(void)
{
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = 0 };

	return ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &reg);
}

static int call_pread(void)
{
	uint32_t v;

	return pread(device, &v, 4, pread_offset) == 4 ? 0 : -1;
}

static int call_set_irqs(void)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	static _Thread_local int on;
	int32_t fd;

	on = !on;
	fd = on ? efd : -1;
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_REQ_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	return ioctl(device, VFIO_DEVICE_SET_IRQS, set);
}

static struct calls calls[] = {
	{ .what = "VFIO_DEVICE_GET_REGION_INFO", .call = call_region_info },
	{ .what = "pread", .call = call_pread },
	{ .what = "VFIO_DEVICE_SET_IRQS", .call = call_set_irqs },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

static void *calls_thread(void *arg)
{
	struct calls *c = arg;

	while (!atomic_load(&stop)) {
		if (!c->call()) {
			atomic_fetch_add(&c->ok, 1);
			if (atomic_load(&c->enodev))
				atomic_fetch_add(&c->ok_after_enodev, 1);
		} else if (errno == ENODEV) {
			atomic_fetch_add(&c->enodev, 1);
			usleep(1000);	/* the rest is the same answer */
		} else if (errno == EBADF && atomic_load(&closing)) {
			break;
		} else {
			atomic_fetch_add(&c->other, 1);
			atomic_store(&c->bad_errno, errno);
		}
	}
	return NULL;
}

/* ---- main --------------------------------------------------------------- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void expect_enodev(const char *what, int r)
{
	if (r == 0)
		FAILF("%s after the revocation succeeded", what);
	else if (errno != ENODEV)
		FAILF("%s after the revocation: %s, not ENODEV", what, strerror(errno));
	else
		say("after the revocation: %s fails with ENODEV", what);
}

int main(int argc, char **argv)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_device_info oinfo = { .argsz = sizeof(oinfo) };
	struct sigaction sa = { .sa_handler = on_sigbus };
	int nfault = 0, ioctls = 0, close_on_usr1 = 0, container, group_fd, other = -1, i;
	const char *name = NULL, *oname = NULL, *bus;
	pthread_t pth, fth[8], cth[NCALLS];
	sigset_t block, unblocked;
	double hold = -1, ready;
	struct timespec ts;
	uint32_t v;
	void *m;
	int group;

	vc_prog = "vfio-revokee";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fault") && i + 1 < argc)
			nfault = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ioctls"))
			ioctls = 1;
		else if (!strcmp(argv[i], "--close-on-usr1"))
			close_on_usr1 = 1;
		else if (!strcmp(argv[i], "--hold-seconds") && i + 1 < argc)
			hold = atof(argv[++i]);
		else if (argv[i][0] == '-')
			usage("unknown option or missing value");
		else if (!name)
			name = argv[i];
		else if (!oname)
			oname = argv[i];
		else
			usage("at most two devices");
	}
	if (!name || nfault < 0 || nfault > 8)
		usage(!name ? "a device is needed" : "--fault takes 0..8 threads");

	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	/* Threads inherit the mask: signals go to the main thread only. */
	sigprocmask(SIG_BLOCK, &block, &unblocked);

	say("pid %d, %s%s%s", getpid(), name, oname ? " and " : "", oname ? oname : "");
	group = iommu_group_of(name, &bus);
	say("%s device %s is in IOMMU group %d", bus, name, group);
	if (oname && iommu_group_of(oname, &bus) != group) {
		errno = 0;
		die("%s is not in group %d", oname, group);
	}
	container = open_container();
	group_fd = open_group(container, group, name);
	device = open_device(group_fd, name, &info);
	if (oname)
		other = open_device(group_fd, oname, &oinfo);

	if ((info.flags & VFIO_DEVICE_FLAGS_PCI) && info.num_irqs > VFIO_PCI_REQ_IRQ_INDEX)
		efd = register_request_eventfd(device, &info);
	else
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (info.flags & VFIO_DEVICE_FLAGS_PCI) {
		struct vfio_region_info cfg = { .argsz = sizeof(cfg),
						.index = VFIO_PCI_CONFIG_REGION_INDEX };

		if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
			die("VFIO_DEVICE_GET_REGION_INFO(config)");
		pread_offset = cfg.offset;
	}
	if (nfault)
		map_region(&info);

	if (pthread_create(&pth, NULL, poll_thread, NULL))
		die("pthread_create");
	for (i = 0; i < nfault; i++)
		if (pthread_create(&fth[i], NULL, fault_thread, NULL))
			die("pthread_create");
	for (i = 0; ioctls && i < (int)NCALLS; i++)
		if (pthread_create(&cth[i], NULL, calls_thread, &calls[i]))
			die("pthread_create");

	ready = now();
	say("ready: %d fault thread(s)%s, polling the device fd", nfault,
	    ioctls ? ", ioctl/pread/SET_IRQS threads" : "");
	for (;;) {
		double left = hold >= 0 ? ready + hold - now() : 3600;

		if (left <= 0)
			break;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		if (ppoll(NULL, 0, &ts, &unblocked) < 0 && errno != EINTR)
			die("ppoll");
		if (got_signal)
			break;
	}
	if (got_signal == SIGUSR1 && close_on_usr1) {
		/* R13: our own close, as fast as we can, racing the revocation. */
		atomic_store(&closing, 1);
		if (close(device) || close(group_fd) || close(container))
			FAILF("close: %s", strerror(errno));
		say("closed the device, group and container fds (SIGUSR1)");
		device = group_fd = container = -1;
	} else if (got_signal) {
		say("signal %d after %.3f s", got_signal, now() - ready);
	}

	atomic_store(&stop, 1);
	pthread_join(pth, NULL);
	for (i = 0; i < nfault; i++)
		pthread_join(fth[i], NULL);
	for (i = 0; ioctls && i < (int)NCALLS; i++)
		pthread_join(cth[i], NULL);

	if (nfault) {
		say("summary: faults: %lu reads before the revocation (%lu of them not 0xffffffff, "
		    "last word %#x), %lu after, %lu not 0xffffffff", atomic_load(&reads_before),
		    atomic_load(&device_before), atomic_load(&last_before),
		    atomic_load(&reads_after), atomic_load(&bad_after));
		if (atomic_load(&bad_after))
			FAILF("a read after the revocation returned %#x", atomic_load(&first_bad));
		if (atomic_load(&revoked)) {
			if (!atomic_load(&reads_after))
				FAILF("no read of the mapping after the revocation");
			v = map.map[0];	/* refaults the page of 0xff again */
			say("after the revocation: the mapping reads %#x", v);
		}
	}
	for (i = 0; ioctls && i < (int)NCALLS; i++) {
		struct calls *c = &calls[i];

		say("summary: %s: %lu ok, then %lu ENODEV, %lu other errors, %lu ok after ENODEV",
		    c->what, atomic_load(&c->ok), atomic_load(&c->enodev),
		    atomic_load(&c->other), atomic_load(&c->ok_after_enodev));
		if (atomic_load(&c->other))
			FAILF("%s failed with %s", c->what, strerror(atomic_load(&c->bad_errno)));
		if (atomic_load(&c->ok_after_enodev))
			FAILF("%s succeeded after an ENODEV", c->what);
		if (atomic_load(&revoked) && !close_on_usr1 && !atomic_load(&c->enodev))
			FAILF("%s never failed with ENODEV after the revocation", c->what);
	}
	say("summary: %s", atomic_load(&revoked) ? "revoked" : "not revoked");

	if (atomic_load(&revoked) && device >= 0) {
		uint32_t w;

		expect_enodev("VFIO_DEVICE_GET_INFO", ioctl(device, VFIO_DEVICE_GET_INFO, &info));
		expect_enodev("pread", pread(device, &w, 4, pread_offset) == 4 ? 0 : -1);
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, device, map.offset);
		expect_enodev("mmap", m == MAP_FAILED ? -1 : 0);
	}
	if (other >= 0) {
		if (ioctl(other, VFIO_DEVICE_GET_INFO, &oinfo))
			FAILF("%s (same group) VFIO_DEVICE_GET_INFO: %s", oname, strerror(errno));
		else
			say("%s (same group) still answers VFIO_DEVICE_GET_INFO", oname);
	}

	if (nfault)
		munmap((void *)map.map, map.size);
	if (device >= 0 && close(device))
		FAILF("close device fd: %s", strerror(errno));
	if (other >= 0 && close(other))
		FAILF("close %s fd: %s", oname, strerror(errno));
	if (group_fd >= 0 && close(group_fd))
		FAILF("close group fd: %s", strerror(errno));
	if (container >= 0 && close(container))
		FAILF("close container fd: %s", strerror(errno));
	if (efd >= 0)
		close(efd);
	if (atomic_load(&failed)) {
		say("FAILED");
		return 1;
	}
	say("released");
	return 0;
}
