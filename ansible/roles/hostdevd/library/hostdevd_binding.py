#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostdevd maintainers; LGPL-2.1-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hostdevd_binding
short_description: A persistent vfio-pci binding, made through hostdevctl
description:
  - Reads C(hostdevctl list --json) and changes only what differs from the
    wanted state.
  - I(state=present) binds the device to vfio-pci and makes the binding
    persistent (C(hostdevctl bind --persist)), or makes an existing vfio-pci
    binding persistent (C(hostdevctl persist)).
  - I(state=absent) gives a device hostdevd bound back to its host driver and
    forgets the binding (C(hostdevctl restore)), or only forgets a binding not
    applied (C(hostdevctl forget)).  A device some other tool bound to
    vfio-pci is left alone.
  - A restore waits, like C(hostdevctl restore), for a VM holding the device
    to let go.
options:
  address:
    description: PCI address, C(DDDD:BB:DD.F) or C(BB:DD.F).
    type: str
    required: true
  group:
    description: Also bind the other devices of the IOMMU group that a host
      driver holds (C(hostdevctl bind --group)).
    type: bool
    default: false
  state:
    description: Whether the persistent binding exists.
    type: str
    choices: [present, absent]
    default: present
author: hostdevd maintainers
'''

EXAMPLES = r'''
- name: A NIC for a router VM
  hostdevd_binding:
    address: "0000:3b:00.0"
'''

RETURN = r'''
device:
  description: The device as C(hostdevctl show --json) describes it, afterwards.
  returned: always
  type: dict
'''

import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.hostdevctl import is_vfio, query, run

# Drivers that leave an IOMMU group viable for VFIO: a --group binding does
# not move them.
GROUP_NEUTRAL = ('pcieport', 'pci-stub')


def canonical(address):
    a = address.strip().lower()
    if re.match(r'^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$', a):
        a = '0000:' + a
    if not re.match(r'^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$', a):
        return None
    return a


def describe(driver, persistent):
    """A device's binding as the diff shows it."""
    return 'driver: %s\npersistent: %s\n' % (driver or 'none', 'yes' if persistent else 'no')


def plan(devices, dev, want, group):
    """The hostdevctl arguments that make @dev as wanted, or None."""
    address = dev['address']
    vfio = is_vfio(dev['driver'])
    if want == 'present':
        members = [devices[m] for m in dev['group_members'] if m in devices] if group else []
        on_host = [m['address'] for m in members
                   if m['driver'] is not None and not is_vfio(m['driver'])
                   and m['driver'] not in GROUP_NEUTRAL]
        if vfio and dev['persistent'] and not on_host:
            return None
        if vfio and not on_host:
            return ['persist', address]
        return ['bind', address, '--persist'] + (['--group'] if group else [])
    # absent: undo what hostdevd did, never what another tool did.
    if vfio and dev['original_driver'] is not None:
        return ['restore', address]
    if dev['persistent']:
        return ['forget', address]
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type='str', required=True),
            group=dict(type='bool', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        supports_check_mode=True,
    )
    address = canonical(module.params['address'])
    if address is None:
        module.fail_json(msg='%r is not a PCI address (DDDD:BB:DD.F or BB:DD.F)'
                         % module.params['address'])
    devices = {d['address']: d for d in query(module, ['list'])['devices']}
    dev = devices.get(address)
    if dev is None:
        module.fail_json(msg='No PCI device %s on this host (hostdevctl list)' % address)

    args = plan(devices, dev, module.params['state'], module.params['group'])
    if args is None:
        module.exit_json(changed=False, device=dev)

    present = module.params['state'] == 'present'
    if present:
        driver_after = dev['driver'] if is_vfio(dev['driver']) else 'vfio-pci'
    else:
        driver_after = dev['original_driver'] if args[0] == 'restore' else dev['driver']
    result = dict(changed=True, command='hostdevctl ' + ' '.join(args))
    if module._diff:
        result['diff'] = dict(before_header=address, after_header=address,
                              before=describe(dev['driver'], dev['persistent']),
                              after=describe(driver_after, present))
    if not module.check_mode:
        run(module, args)
        dev = {d['address']: d for d in query(module, ['list'])['devices']}[address]
        # hostdevctl succeeds only when its job completed; say so if the
        # device still disagrees (someone else moved it meanwhile).
        if dev['persistent'] != present or (present and not is_vfio(dev['driver'])):
            module.fail_json(msg='%s finished, but %s is now on %s, persistent: %s'
                             % (result['command'], address, dev['driver'], dev['persistent']),
                             device=dev)
    result['device'] = dev
    module.exit_json(**result)


if __name__ == '__main__':
    main()
