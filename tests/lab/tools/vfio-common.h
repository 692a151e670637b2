/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-common.h: what the lab's VFIO tools share: timestamps on the clock of
 * /proc/uptime, messages, and opening a device the way a VMM does (type1
 * container, /dev/vfio/N, VFIO_GROUP_GET_DEVICE_FD by name).
 *
 * Header-only (static inline): each tool is one .c file built with
 * gcc -static and no libraries. A tool sets vc_prog before calling anything.
 */
#ifndef LAB_VFIO_COMMON_H
#define LAB_VFIO_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

/* The tool's name, the prefix of every line it prints. */
static const char *vc_prog = "vfio-tool";

/* Seconds on CLOCK_BOOTTIME: the clock of /proc/uptime (lib.sh now_ms). */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "[  123.456] PROG: message" on stdout, flushed. */
static inline void say(const char *fmt, ...)
{
	va_list ap;

	flockfile(stdout);
	printf("[%10.3f] %s: ", now(), vc_prog);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
}

/* An error: say what failed and why (errno if set), print FAILED, exit 1. */
static inline void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "[%10.3f] %s: error: ", now(), vc_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	printf("[%10.3f] %s: FAILED\n", now(), vc_prog);
	exit(1);
}

/* The IOMMU group number of a PCI device or mdev, from its iommu_group link. */
static inline int iommu_group_of(const char *name, const char **bus)
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
static inline int open_container(void)
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

/* Open /dev/vfio/GROUP, check it is viable, put it in the container and set
 * the container's IOMMU (type1v2, type1 or no-IOMMU). */
static inline int open_group(int container, int group, const char *name)
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

/* VFIO_GROUP_GET_DEVICE_FD by name, or die. */
static inline int open_device(int group_fd, const char *name, struct vfio_device_info *info)
{
	int device;

	device = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
	if (device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD(%s)", name);
	info->argsz = sizeof(*info);
	if (ioctl(device, VFIO_DEVICE_GET_INFO, info))
		die("VFIO_DEVICE_GET_INFO");
	say("device fd %d: flags %#x, %u regions, %u irqs", device, info->flags,
	    info->num_regions, info->num_irqs);
	return device;
}

/* Register (fd >= 0) or unregister (fd == -1) the request eventfd. */
static inline void set_req_trigger(int device, int32_t efd)
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

/* An eventfd registered on VFIO_PCI_REQ_IRQ_INDEX: the kernel's request channel. */
static inline int register_request_eventfd(int device, const struct vfio_device_info *info)
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

/* PCI_COMMAND |= MEMORY through the config region: vfio-pci's fault handler
 * gives SIGBUS while the (virtual) command register has memory disabled. */
static inline void enable_memory(int device)
{
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		die("VFIO_DEVICE_GET_REGION_INFO(config)");
	if (pread(device, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		die("read PCI_COMMAND");
	cmd |= PCI_COMMAND_MEMORY;
	if (pwrite(device, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		die("write PCI_COMMAND");
}

#endif
