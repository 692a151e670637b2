#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostdevd maintainers; LGPL-2.1-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hostdevd_mdev
short_description: An mdev definition (and the mdev), made through hostdevctl
description:
  - Reads C(hostdevctl mdev list --json) and changes only what differs.
  - I(state=present) writes the definition (C(hostdevctl mdev define), in
    mdevctl's format) or, when it differs, deletes and writes it again; then
    starts the mdev when I(started) and it does not run.  A running mdev
    whose parent or type differ from the definition keeps running as it is
    (a VM may use it); the task warns, and the definition takes effect when
    the mdev is stopped and started.
  - I(state=absent) removes the running mdev (waiting, like
    C(hostdevctl mdev remove), for a VM holding it to let go) and deletes the
    definition.
options:
  uuid:
    description: The mdev's UUID.
    type: str
    required: true
  parent:
    description: Parent device, as in C(/sys/class/mdev_bus). Required with I(state=present).
    type: str
  type:
    description: mdev type of the parent. Required with I(state=present).
    type: str
  autostart:
    description: The definition says C(start=auto), so hostdevd creates the
      mdev at start-up and whenever its parent appears.
    type: bool
    default: true
  started:
    description: Make the mdev run now. Default is I(autostart).
    type: bool
  attributes:
    description: Attributes written after creation, in this order.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        type: str
        required: true
        description: The attribute's path below the mdev's sysfs directory.
      value:
        type: str
        required: true
        description: What is written to it.
  state:
    description: Whether the definition exists.
    type: str
    choices: [present, absent]
    default: present
author: hostdevd maintainers
'''

EXAMPLES = r'''
- name: A serial port for a test VM, at every boot
  hostdevd_mdev:
    uuid: 6d5c2a8e-2f4e-4a9e-9b1f-3c1d2e4f5a61
    parent: mtty
    type: mtty-2
'''

RETURN = r'''
mdev:
  description: The mdev as C(hostdevctl mdev list --json) describes it, afterwards.
  returned: when it exists
  type: dict
'''

import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.hostdevctl import query, run


def find(module, uuid):
    for m in query(module, ['mdev', 'list'])['mdevs']:
        if m['uuid'].lower() == uuid:
            return m
    return None


def definition(parent, type_, autostart, attributes):
    return {'parent': parent, 'type': type_, 'autostart': autostart,
            'attributes': [{'name': a['name'], 'value': a['value']} for a in attributes]}


def describe(mdev):
    """An mdev as the diff shows it ("absent" when there is none)."""
    if mdev is None or (not mdev['defined'] and not mdev['active']):
        return 'absent\n'
    lines = ['parent: %s' % mdev['parent'], 'type: %s' % mdev['type'],
             'defined: %s' % ('yes' if mdev['defined'] else 'no'),
             'autostart: %s' % ('yes' if mdev['autostart'] else 'no'),
             'active: %s' % ('yes' if mdev['active'] else 'no')]
    lines += ['attribute %s: %s' % (a['name'], a['value']) for a in mdev['attributes']]
    return '\n'.join(lines) + '\n'


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uuid=dict(type='str', required=True),
            parent=dict(type='str'),
            type=dict(type='str'),
            autostart=dict(type='bool', default=True),
            started=dict(type='bool'),
            attributes=dict(type='list', elements='dict', default=[],
                            options=dict(name=dict(type='str', required=True),
                                         value=dict(type='str', required=True))),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        required_if=[('state', 'present', ('parent', 'type'))],
        supports_check_mode=True,
    )
    p = module.params
    uuid = p['uuid'].strip().lower()
    if not re.match(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', uuid):
        module.fail_json(msg='%r is not a UUID (8-4-4-4-12 hexadecimal digits)' % p['uuid'])
    started = p['autostart'] if p['started'] is None else p['started']
    mdev = find(module, uuid)

    commands = []
    after = dict(mdev) if mdev else {'uuid': uuid, 'active': False, 'defined': False}
    if p['state'] == 'present':
        want = definition(p['parent'], p['type'], p['autostart'], p['attributes'])
        have = definition(mdev['parent'], mdev['type'], mdev['autostart'],
                          mdev['attributes']) if mdev and mdev['defined'] else None
        if have != want:
            if have is not None:
                commands.append(['mdev', 'undefine', uuid])
            define = ['mdev', 'define', p['parent'], p['type'], '--uuid', uuid]
            define += ['--auto'] if p['autostart'] else []
            for a in p['attributes']:
                define += ['--attr', '%s=%s' % (a['name'], a['value'])]
            commands.append(define)
            after.update(want, defined=True)
        if mdev and mdev['active'] and (mdev['parent'], mdev['type']) != (p['parent'], p['type']):
            module.warn('mdev %s runs as %s on %s; its definition says %s on %s, which takes '
                        'effect when it is stopped and started (hostdevctl mdev stop/start)'
                        % (uuid, mdev['type'], mdev['parent'], p['type'], p['parent']))
        elif started and not (mdev and mdev['active']):
            commands.append(['mdev', 'start', uuid])
            after['active'] = True
    else:
        if mdev and mdev['active']:
            commands.append(['mdev', 'remove', uuid])
        if mdev and mdev['defined']:
            commands.append(['mdev', 'undefine', uuid])
        after = None

    result = dict(changed=bool(commands),
                  commands=['hostdevctl ' + ' '.join(c) for c in commands])
    if commands and module._diff:
        result['diff'] = dict(before_header=uuid, after_header=uuid,
                              before=describe(mdev), after=describe(after))
    if commands and not module.check_mode:
        for c in commands:
            run(module, c)
        mdev = find(module, uuid)
    if mdev is not None:
        result['mdev'] = mdev
    module.exit_json(**result)


if __name__ == '__main__':
    main()
