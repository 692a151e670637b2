// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-race: the userspace side of the lab's VFIO races (LIFECYCLE.md R6-R10)
 * that a shell cannot do: threads doing ioctls, faults on a BAR mmap, hot
 * reset. The scenario does the other side (unbind, bind, remove, rescan).
 *
 *   vfio-race lookup DEVICE
 *       R6. Hold DEVICE's fd with a request eventfd and loop
 *       VFIO_GROUP_GET_DEVICE_FD(DEVICE) in a second thread (each fd got is
 *       closed at once). Prints "ready:", then "request received" when the
 *       kernel's unregistration asks for the device, and keeps looking up
 *       until SIGTERM; then closes everything and prints "released".
 *       Fails (exit 1) if a lookup started after the request succeeded, if
 *       none was tried after it, or if one failed with another errno than
 *       ENODEV.
 *   vfio-race open-loop GROUP SECONDS
 *       R7, R8. Loop open(/dev/vfio/GROUP) + VFIO_GROUP_GET_STATUS + close
 *       for SECONDS. Every outcome must be success, ENOENT (no node), ENODEV
 *       (a dying group), ENXIO (the node was found but the group's cdev was
 *       gone when opened) or, for GET_STATUS, ENODEV; counts are printed.
 *   vfio-race group-devices DEVICE...
 *       R9. All DEVICEs are in one IOMMU group: open that group once and get
 *       a device fd for each of them through it.
 *   vfio-race hot-reset DEVICE RESETS
 *       R10. mmap BAR 0 of DEVICE, one thread faulting on it in a loop and
 *       one mapping/unmapping it in a loop, while the main thread does
 *       RESETS x VFIO_DEVICE_PCI_HOT_RESET (group fd from
 *       VFIO_DEVICE_GET_PCI_HOT_RESET_INFO). Each reset must succeed or
 *       return EBUSY (memory_lock contention), at least one must succeed,
 *       no access may SIGBUS, and a mapping zapped by the last reset must
 *       refault afterwards.
 *
 * Exit status: 0 the race had the correct outcome, 1 it did not (or an
 * error), 2 usage. Build: make -C tests/lab/tools.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/pci_regs.h>
#include "vfio-common.h"

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "vfio-race: %s\n", msg);
	fprintf(stderr,
		"usage: vfio-race lookup DEVICE\n"
		"       vfio-race open-loop GROUP SECONDS\n"
		"       vfio-race group-devices DEVICE...\n"
		"       vfio-race hot-reset DEVICE RESETS\n");
	exit(2);
}

static atomic_int stop;

/* ---- R6: lookups by name against unregistration ------------------------- */

struct lookup {
	const char *name;
	int group_fd;
	atomic_int after_request;	/* set once the request was read */
	unsigned long ok_before, fail_before, ok_after, fail_after, other_errno;
	int bad_errno;
	double first_fail;
};

static void *lookup_thread(void *arg)
{
	struct lookup *l = arg;
	int fd, after;

	while (!atomic_load(&stop)) {
		/* A lookup counts as "after" only if it started after the request. */
		after = atomic_load(&l->after_request);
		fd = ioctl(l->group_fd, VFIO_GROUP_GET_DEVICE_FD, l->name);
		if (fd >= 0) {
			close(fd);
			if (after)
				l->ok_after++;
			else
				l->ok_before++;
			continue;
		}
		if (errno != ENODEV) {
			l->other_errno++;
			l->bad_errno = errno;
		}
		if (!l->first_fail)
			l->first_fail = now();
		if (after)
			l->fail_after++;
		else
			l->fail_before++;
	}
	return NULL;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static int cmd_lookup(const char *name)
{
	struct vfio_device_info info;
	struct lookup l = { .name = name };
	struct pollfd pfd = { .events = POLLIN };
	double ready, treq = 0;
	sigset_t block, unblocked;
	struct sigaction sa = { .sa_handler = on_signal };
	const char *bus;
	pthread_t th;
	uint64_t n;
	int container, device, ok = 1;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	/* Blocked everywhere (the thread inherits it) but inside ppoll(). */
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);

	container = open_container();
	l.group_fd = open_group(container, iommu_group_of(name, &bus), name);
	device = open_device(l.group_fd, name, &info);
	pfd.fd = register_request_eventfd(device, &info);
	if (pthread_create(&th, NULL, lookup_thread, &l))
		die("pthread_create");
	ready = now();
	say("ready: holding %s, looking up %s by name in a loop", name, name);

	while (!got_signal) {
		if (ppoll(&pfd, 1, NULL, &unblocked) < 0 && errno != EINTR)
			die("ppoll");
		if (!(pfd.revents & POLLIN) || read(pfd.fd, &n, sizeof(n)) != sizeof(n))
			continue;
		if (!treq) {
			atomic_store(&l.after_request, 1);
			treq = now();
			say("request received after %.3f s: unregistration started", treq - ready);
		} else {
			say("request received again, ignored");
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	say("signal %d: stopping; lookups before the request: %lu ok, %lu failed; after: %lu ok, %lu failed",
	    got_signal, l.ok_before, l.fail_before, l.ok_after, l.fail_after);
	if (l.first_fail)
		say("first failed lookup %.3f s %s the request",
		    l.first_fail >= treq ? l.first_fail - treq : treq - l.first_fail,
		    l.first_fail >= treq ? "after" : "before");
	if (!treq) {
		say("FAIL: no request was received (was the device unbound?)");
		ok = 0;
	}
	if (l.ok_after) {
		say("FAIL: %lu lookups by name succeeded after unregistration started", l.ok_after);
		ok = 0;
	}
	if (treq && !l.fail_after) {
		say("FAIL: no lookup was tried after the request");
		ok = 0;
	}
	if (l.other_errno) {
		say("FAIL: %lu lookups failed with %s, not ENODEV", l.other_errno,
		    strerror(l.bad_errno));
		ok = 0;
	}
	say("closing the device fd (the last user)");
	close(pfd.fd);
	if (close(device) || close(l.group_fd) || close(container))
		die("close");
	say("released");
	return ok ? 0 : 1;
}

/* ---- R7, R8: open the group node against group creation/destruction ---- */

static int cmd_open_loop(int group, double seconds)
{
	struct vfio_group_status status;
	unsigned long opened = 0, enoent = 0, enodev = 0, enxio = 0, viable = 0, status_enodev = 0;
	unsigned long other = 0;
	double end = now() + seconds;
	char path[64];
	int fd, bad = 0;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	say("ready: open(%s) in a loop for %.1f s", path, seconds);
	while (now() < end) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				enoent++;
			else if (errno == ENODEV)
				enodev++;
			else if (errno == ENXIO)
				/* The node was looked up, then the group's cdev was
				 * deleted before chrdev_open() found it. */
				enxio++;
			else {
				other++;
				bad = errno;
			}
			continue;
		}
		opened++;
		status = (struct vfio_group_status){ .argsz = sizeof(status) };
		if (!ioctl(fd, VFIO_GROUP_GET_STATUS, &status)) {
			if (status.flags & VFIO_GROUP_FLAGS_VIABLE)
				viable++;
		} else if (errno == ENODEV) {
			status_enodev++;
		} else {
			other++;
			bad = errno;
		}
		close(fd);
	}
	say("open: %lu ok (%lu viable, %lu GET_STATUS ENODEV), %lu ENOENT, %lu ENODEV, %lu ENXIO, %lu other",
	    opened, viable, status_enodev, enoent, enodev, enxio, other);
	if (other) {
		say("FAIL: %lu opens or GET_STATUS calls failed with %s", other, strerror(bad));
		return 1;
	}
	return 0;
}

/* ---- R9: one group for the devices of one IOMMU group ----------------- */

static int cmd_group_devices(int argc, char **argv)
{
	struct vfio_device_info info;
	const char *bus;
	int container, group_fd, group, i, fd;

	group = iommu_group_of(argv[0], &bus);
	for (i = 1; i < argc; i++) {
		if (iommu_group_of(argv[i], &bus) != group) {
			errno = 0;
			die("%s is not in IOMMU group %d of %s", argv[i], group, argv[0]);
		}
	}
	container = open_container();
	group_fd = open_group(container, group, argv[0]);
	for (i = 0; i < argc; i++) {
		fd = open_device(group_fd, argv[i], &info);
		say("%s opened through /dev/vfio/%d", argv[i], group);
		close(fd);
	}
	close(group_fd);
	close(container);
	say("all %d devices opened through one group", argc);
	return 0;
}

/* ---- R10: hot reset against faults on a BAR mmap ------------------------ */

struct bar {
	int device;
	off_t offset;		/* of the region in the device fd */
	size_t size;		/* mapped: at most 64 KiB of it */
	volatile uint32_t *map;	/* the long-lived mapping the fault thread reads */
};

static _Thread_local sigjmp_buf *fault_jmp;
static atomic_ulong sigbus, reads, remaps;

static void on_sigbus(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigbus, 1);
	if (fault_jmp)
		siglongjmp(*fault_jmp, 1);
	_exit(1);
}

/* Read one word of every page of the mapping, again and again: after a zap
 * the next read faults (vfio_pci_mmap_huge_fault, under memory_lock). */
static void *fault_thread(void *arg)
{
	struct bar *b = arg;
	sigjmp_buf jmp;
	size_t off;

	fault_jmp = &jmp;
	while (!atomic_load(&stop)) {
		if (sigsetjmp(jmp, 1))
			continue;	/* a SIGBUS, counted by the handler */
		for (off = 0; off < b->size; off += 4096) {
			(void)b->map[off / 4];
			atomic_fetch_add(&reads, 1);
		}
	}
	return NULL;
}

/* Map, read, unmap in a loop: every mapping faults afresh. */
static void *remap_thread(void *arg)
{
	struct bar *b = arg;
	volatile uint32_t *m;
	sigjmp_buf jmp;

	fault_jmp = &jmp;
	while (!atomic_load(&stop)) {
		m = mmap(NULL, b->size, PROT_READ, MAP_SHARED, b->device, b->offset);
		if (m == MAP_FAILED)
			die("mmap BAR 0 (remap thread)");
		if (!sigsetjmp(jmp, 1))
			(void)m[0];
		munmap((void *)m, b->size);
		atomic_fetch_add(&remaps, 1);
	}
	return NULL;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static int cmd_hot_reset(const char *name, int resets)
{
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_pci_hot_reset_info hdr = { .argsz = sizeof(hdr) };
	struct vfio_pci_hot_reset_info *info;
	struct vfio_pci_hot_reset *reset;
	struct vfio_device_info dinfo;
	struct sigaction sa = { .sa_handler = on_sigbus };
	unsigned long ok = 0, busy = 0, other = 0;
	int container, group_fd, group, i, bad = 0, r, pass = 1;
	pthread_t fth, rth;
	const char *bus;
	struct bar b;
	long flt0;
	uint32_t v;
	double t;

	sigaction(SIGBUS, &sa, NULL);
	group = iommu_group_of(name, &bus);
	container = open_container();
	group_fd = open_group(container, group, name);
	b.device = open_device(group_fd, name, &dinfo);

	/* Which devices a hot reset affects: all must be in our group. */
	if (ioctl(b.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr) && errno != ENOSPC)
		die("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: no bus or slot reset for %s", name);
	info = calloc(1, sizeof(*info) + hdr.count * sizeof(info->devices[0]));
	info->argsz = sizeof(*info) + hdr.count * sizeof(info->devices[0]);
	if (ioctl(b.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info))
		die("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO (%u devices)", hdr.count);
	for (i = 0; i < (int)info->count; i++) {
		say("hot reset affects %04x:%02x:%02x.%x (group %u)", info->devices[i].segment,
		    info->devices[i].bus, info->devices[i].devfn >> 3, info->devices[i].devfn & 7,
		    info->devices[i].group_id);
		if ((int)info->devices[i].group_id != group) {
			errno = 0;
			die("the reset affects group %u too: this tool only holds group %d",
			    info->devices[i].group_id, group);
		}
	}

	if (ioctl(b.device, VFIO_DEVICE_GET_REGION_INFO, &reg))
		die("VFIO_DEVICE_GET_REGION_INFO(BAR 0)");
	if (!(reg.flags & VFIO_REGION_INFO_FLAG_MMAP) || !reg.size) {
		errno = 0;
		die("BAR 0 of %s cannot be mmapped (flags %#x, size %llu)", name, reg.flags,
		    (unsigned long long)reg.size);
	}
	b.offset = reg.offset;
	b.size = reg.size < 65536 ? reg.size : 65536;
	enable_memory(b.device);
	b.map = mmap(NULL, b.size, PROT_READ, MAP_SHARED, b.device, b.offset);
	if (b.map == MAP_FAILED)
		die("mmap BAR 0");
	v = b.map[0];
	say("BAR 0: %llu bytes, mapped %zu; first word %#x", (unsigned long long)reg.size, b.size, v);

	reset = calloc(1, sizeof(*reset) + sizeof(int32_t));
	reset->argsz = sizeof(*reset) + sizeof(int32_t);
	reset->count = 1;
	reset->group_fds[0] = group_fd;

	flt0 = minflt();
	if (pthread_create(&fth, NULL, fault_thread, &b) || pthread_create(&rth, NULL, remap_thread, &b))
		die("pthread_create");
	say("ready: %d hot resets while two threads fault on BAR 0", resets);
	for (i = 0; i < resets; i++) {
		usleep(20000);
		t = now();
		r = ioctl(b.device, VFIO_DEVICE_PCI_HOT_RESET, reset);
		if (!r)
			ok++;
		else if (errno == EBUSY)
			busy++;
		else {
			other++;
			bad = errno;
		}
		say("hot reset %d: %s (%.3f s)", i + 1, r ? strerror(errno) : "done", now() - t);
	}
	atomic_store(&stop, 1);
	pthread_join(fth, NULL);
	pthread_join(rth, NULL);
	say("resets: %lu done, %lu EBUSY, %lu other; %lu reads, %lu remaps, %ld page faults, %lu SIGBUS",
	    ok, busy, other, atomic_load(&reads), atomic_load(&remaps), minflt() - flt0,
	    atomic_load(&sigbus));

	/* One more reset with nobody faulting, then the old mapping must refault. */
	if (ioctl(b.device, VFIO_DEVICE_PCI_HOT_RESET, reset)) {
		say("FAIL: the final hot reset, with no fault in flight: %s", strerror(errno));
		pass = 0;
	}
	flt0 = minflt();
	v = b.map[0];
	say("after the last reset: first word %#x, %ld page fault(s) to read it", v, minflt() - flt0);
	if (minflt() - flt0 < 1) {
		say("FAIL: the mapping was not zapped by the reset (no refault)");
		pass = 0;
	}
	if (v == 0xffffffff) {
		say("FAIL: BAR 0 reads all ones after the reset");
		pass = 0;
	}
	if (other) {
		say("FAIL: %lu hot resets failed with %s (only success or EBUSY are correct)", other,
		    strerror(bad));
		pass = 0;
	}
	if (!ok) {
		say("FAIL: no hot reset succeeded");
		pass = 0;
	}
	if (atomic_load(&sigbus)) {
		say("FAIL: %lu SIGBUS on BAR 0 accesses", atomic_load(&sigbus));
		pass = 0;
	}
	if (!atomic_load(&reads) || !atomic_load(&remaps)) {
		say("FAIL: the fault threads did not run");
		pass = 0;
	}
	munmap((void *)b.map, b.size);
	close(b.device);
	close(group_fd);
	close(container);
	say("released");
	return pass ? 0 : 1;
}

static long number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		usage("not a number");
	return v;
}

int main(int argc, char **argv)
{
	vc_prog = "vfio-race";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "lookup"))
		return cmd_lookup(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "open-loop"))
		return cmd_open_loop(number(argv[2]), strtod(argv[3], NULL));
	if (argc >= 3 && !strcmp(argv[1], "group-devices"))
		return cmd_group_devices(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "hot-reset"))
		return cmd_hot_reset(argv[2], number(argv[3]));
	usage(argc > 1 ? "unknown command or wrong arguments" : NULL);
	return 2;
}
