"""Rules of the C sources that a compiler does not check (issue 16,
class 9): no expression with side effects inside a check that a build
can compile out.  g_assert() vanishes under G_DISABLE_ASSERT and
g_return_*_if_fail() under G_DISABLE_CHECKS, with whatever they call."""

import os
import re

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SOURCES = ['daemon', 'common', 'cli']

# A check may call what only looks: type checks and predicates.
PURE = re.compile(r'^(G_IS_\w+|HDD_IS_\w+|g_variant_is_of_type|g_task_is_valid|'
                  r'g_str_equal|g_strcmp0|strcmp|strlen|G_N_ELEMENTS|\w+_is_\w+|\w+_has_\w+)$')
CHECK = re.compile(r'\b(g_assert|g_return_if_fail|g_return_val_if_fail|g_warn_if_fail)\s*\(')
CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')


def sources():
    for d in SOURCES:
        for root, _, files in os.walk(os.path.join(TOP, d)):
            for name in files:
                if name.endswith('.c') or name.endswith('.h'):
                    yield os.path.join(root, name)


def argument(text, start):
    """The text between the parenthesis at @start and its match."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == '(':
            depth += 1
        elif text[i] == ')':
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return text[start + 1:]


def offences(text):
    for m in CHECK.finditer(text):
        arg = argument(text, m.end() - 1)
        if m.group(1) == 'g_return_val_if_fail':
            arg = arg.rsplit(',', 1)[0]
        for call in CALL.findall(arg):
            if not PURE.match(call):
                yield '%s (... %s() ...)' % (m.group(1), call)
        if re.search(r'(\+\+|--|[^=!<>]=[^=])', arg):
            yield '%s (... an assignment ...)' % m.group(1)


def test_offences_are_found():
    assert list(offences('g_assert (hdd_pci_address_parse (a, &p, NULL));'))
    assert list(offences('g_return_val_if_fail (n++ < 3, NULL);'))
    assert list(offences('g_return_val_if_fail (write_it (x), FALSE);'))
    assert not list(offences('g_return_val_if_fail (G_IS_TASK (t) && g_task_is_valid (t, s), '
                             'FALSE);'))
    assert not list(offences('g_return_if_fail (column < table->n_columns);'))
    assert not list(offences('g_assert_not_reached ();'))


def test_no_side_effects_in_checks():
    found = []
    for path in sources():
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for o in offences(text):
            found.append('%s: %s' % (os.path.relpath(path, TOP), o))
    assert found == []
