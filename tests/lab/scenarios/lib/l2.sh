# Sourced by scenarios that need the nested guest (L2): a tiny TCG guest under
# libvirt in the lab host, with two empty PCIe hot-plug root ports. Its /init
# (tests/lab/nested/init) prints "L2: READY" and "L2: pci add|remove ADDR
# VENDOR:DEVICE" on its serial console, which libvirt writes to $L2_LOG.
# Needs /tmp/lab/nested/{bzImage,initramfs.cpio.gz} (copied in by lab.py).
L2_DIR=/tmp/lab/nested
L2_LOG=/var/log/libvirt/qemu/l2-serial.log
# L2 runs on hostdevd's QEMU (qemu-patches/, installed into the lab by
# `make lab-install`) when the lab has it, else on Debian's.
L2_EMULATOR=/usr/bin/qemu-system-x86_64-hostdevd
[ -x $L2_EMULATOR ] || L2_EMULATOR=/usr/bin/qemu-system-x86_64

l2_assets() { [ -f $L2_DIR/bzImage ] && [ -f $L2_DIR/initramfs.cpio.gz ]; }
# l2_needs_hostdevd_qemu: a check that L2 runs on hostdevd's QEMU; the
# scenario ends here when it cannot.
l2_needs_hostdevd_qemu() {
    check "hostdevd's QEMU is installed in the lab" test "$L2_EMULATOR" = /usr/bin/qemu-system-x86_64-hostdevd
    [ "$L2_EMULATOR" = /usr/bin/qemu-system-x86_64-hostdevd ] || finish
}
# l2_destroy: domain "l2" stopped and undefined, quietly (none is fine).
l2_destroy() { virsh -q destroy l2 >/dev/null 2>&1; virsh -q undefine l2 >/dev/null 2>&1; }

# l2_define: (re)define domain "l2". Its hotplug model is $L2_HOTPLUG:
#   acpi   - ACPI PCI hotplug (the default): QEMU's own default for q35 since
#            6.1 and what a libvirt guest on Debian 12 gets; the guest's
#            acpiphp ejects a device through _EJ0, no attention button;
#   pciehp - ACPI PCI hotplug off, so L2's pciehp handles the slots as on
#            real PCIe hosts (attention button, 5 s delay); the scenarios
#            that test pciehp (or ignore it with pcie_ports=compat) set it.
# No NIC, no USB, no balloon.
L2_HOTPLUG=${L2_HOTPLUG:-acpi}
l2_define() {
    systemctl start libvirtd
    l2_destroy
    rm -f $L2_LOG
    cat > /tmp/l2.xml <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>l2</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$L2_DIR/bzImage</kernel>
    <initrd>$L2_DIR/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <features><acpi/></features>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>$L2_EMULATOR</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>
    <controller type='pci' index='2' model='pcie-root-port'/>
    <controller type='usb' model='none'/>
    <serial type='file'><source path='$L2_LOG'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
    case $L2_HOTPLUG in
    acpi) ;;
    pciehp) sed -i "s|</domain>|  <qemu:commandline>\n    <qemu:arg value='-global'/>\n    <qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/>\n  </qemu:commandline>\n</domain>|" /tmp/l2.xml ;;
    *) echo "l2_define: L2_HOTPLUG is acpi or pciehp, not '$L2_HOTPLUG'" >&2; return 1 ;;
    esac
    virsh -q define /tmp/l2.xml
}

l2_ready() { grep -q 'L2: READY' $L2_LOG 2>/dev/null; }
l2_saw() { grep -q "L2: pci $1 .* $2" $L2_LOG 2>/dev/null; }   # l2_saw add|remove VENDOR:DEVICE

# l2_hostdev_pci ADDRESS MANAGED(yes|no) > file: a <hostdev> for a PCI device
l2_hostdev_pci() {
    local dom bus slotfn
    IFS=: read -r dom bus slotfn <<<"$1"
    cat <<XML
<hostdev mode='subsystem' type='pci' managed='$2'>
  <source><address domain='0x$dom' bus='0x$bus' slot='0x${slotfn%.*}' function='0x${slotfn#*.}'/></source>
  <rom bar='off'/>
</hostdev>
XML
}

# l2_hostdev_mdev UUID > file: a <hostdev> for an mdev
l2_hostdev_mdev() {
    cat <<XML
<hostdev mode='subsystem' type='mdev' model='vfio-pci'>
  <source><address uuid='$1'/></source>
</hostdev>
XML
}

# l2_save_logs DIR: L2's console and libvirt's QEMU log, for the results.
l2_save_logs() {
    cp $L2_LOG "$1/l2-serial.log" 2>/dev/null
    cp /var/log/libvirt/qemu/l2.log "$1/l2-qemu.log" 2>/dev/null
}
