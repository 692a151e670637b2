# -*- coding: utf-8 -*-
# What the role's modules share: running hostdevctl on the host.
#
# hostdevctl is the interface (docs/hostdevctl.md): its --json output is
# stable, and its errors are one sentence on stderr ("hostdevctl: ...").
# With stdin not a terminal it never waits for a password: root is always
# allowed by polkit, anyone else is refused at once.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

HOSTDEVCTL = 'hostdevctl'


def run(module, args):
    """Runs hostdevctl ARGS; fails the task with hostdevctl's own message."""
    path = module.get_bin_path(HOSTDEVCTL, required=True)
    rc, out, err = module.run_command([path] + list(args))
    if rc != 0:
        module.fail_json(msg='hostdevctl %s failed: %s' % (' '.join(args), err.strip() or out.strip()),
                         rc=rc, stdout=out, stderr=err)
    return out


def query(module, args):
    """The parsed JSON of a reading command (list --json, mdev list --json)."""
    out = run(module, list(args) + ['--json'])
    try:
        return json.loads(out)
    except ValueError as e:
        module.fail_json(msg='hostdevctl %s --json printed no JSON (%s): %s' % (' '.join(args), e, out[:200]))


def is_vfio(driver):
    """vfio-pci or one of its variant drivers, as the daemon decides."""
    return driver is not None and (driver == 'vfio-pci' or driver.endswith('-vfio-pci')
                                   or driver.endswith('_vfio_pci'))
