#!/usr/bin/python3
"""Holds a vfio-pci device open the way QEMU does (container, group, device
fd) without registering a request eventfd: a user that ignores the kernel's
requests.  Runs until SIGTERM.  Usage: vfio_hold.py PCI_ADDRESS"""

import fcntl
import os
import signal
import struct
import sys
import time

VFIO = ord(';')


def io(nr):
    return (VFIO << 8) | (100 + nr)


VFIO_SET_IOMMU = io(2)
VFIO_GROUP_GET_STATUS = io(3)
VFIO_GROUP_SET_CONTAINER = io(4)
VFIO_GROUP_GET_DEVICE_FD = io(6)
VFIO_TYPE1v2_IOMMU = 3
VFIO_GROUP_FLAGS_VIABLE = 1


def main():
    address = sys.argv[1]
    group = os.path.basename(os.readlink('/sys/bus/pci/devices/%s/iommu_group' % address))
    container = os.open('/dev/vfio/vfio', os.O_RDWR)
    gfd = os.open('/dev/vfio/' + group, os.O_RDWR)
    status = bytearray(struct.pack('II', 8, 0))
    fcntl.ioctl(gfd, VFIO_GROUP_GET_STATUS, status, True)
    if not struct.unpack('II', status)[1] & VFIO_GROUP_FLAGS_VIABLE:
        sys.exit('vfio_hold: group %s is not viable' % group)
    fcntl.ioctl(gfd, VFIO_GROUP_SET_CONTAINER, struct.pack('i', container))
    fcntl.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    dev = fcntl.ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bytearray(address.encode() + b'\0'), True)
    print('vfio_hold: pid %d holds %s (group %s, device fd %d)' % (os.getpid(), address, group, dev),
          flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
