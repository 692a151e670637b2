#!/usr/bin/env python3
"""Source rules of the daemon that a compiler does not check (fwupd's
contrib/ci/check-source.py is the model).  Run by `meson test` (suite
"source") and so by `make check`.

  check-source.py layers   an include goes against the layer order, or
                           daemon modules include each other in a cycle
  check-source.py prefix   an exported function does not carry its file's
                           prefix
  check-source.py figures  the include graph's figures (largest cycle,
                           largest header closure, files rebuilt when a
                           header changes), for people; never fails

The layers, each using only those below it (docs/architecture.md):

  daemon/main.c > dbus/ > jobs/ > kernel/ | libvirt/ > core/ > common/

kernel/ and libvirt/ are adapters side by side: neither includes the other.
A module is a .c and its .h; an include of the module's own header or of a
header of the same layer is fine, as long as no cycle of modules results.

Prefix: a function that is not static carries its file's prefix
(hdd-pci-sysfs.c: hdd_pci_sysfs_; hostdevctl-client.c: hdc_client_), or is
a method of a type the file's header declares (hdd-store.h declares
HddBinding: hdd_binding_free).  The CLI's subcommands are named after the
command they run (hdc_cmd_bind, hdc_mdev_create: hostdevctl.c's table).
common/ is shared by both and keeps its names (hdd-mdev-names.c).
"""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAEMON = os.path.join(TOP, 'daemon')
RANK = {'common': 0, 'core': 1, 'kernel': 2, 'libvirt': 2, 'jobs': 3, 'dbus': 4, 'main': 5}
# Headers that are not in the tree: generated (gdbus-codegen, meson).
GENERATED = {'hdd-dbus-generated.h': 'common', 'config.h': 'common'}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    """{path: layer} of every daemon and common source."""
    found = {}
    for layer in ('core', 'kernel', 'libvirt', 'jobs', 'dbus'):
        d = os.path.join(DAEMON, layer)
        for name in sorted(os.listdir(d)):
            if name.endswith(('.c', '.h')):
                found[os.path.join(d, name)] = layer
    found[os.path.join(DAEMON, 'main.c')] = 'main'
    common = os.path.join(TOP, 'common')
    for name in sorted(os.listdir(common)):
        if name.endswith(('.c', '.h')):
            found[os.path.join(common, name)] = 'common'
    return found


def module(path):
    return os.path.splitext(os.path.basename(path))[0]


def graph():
    """(layer of each header, includes of each file, module edges)."""
    files = sources()
    header_layer = dict(GENERATED)
    for path, layer in files.items():
        if path.endswith('.h'):
            header_layer[os.path.basename(path)] = layer
    includes = {}
    for path in files:
        with open(path) as f:
            includes[path] = INCLUDE.findall(f.read())
    edges = {}
    for path, incs in includes.items():
        if files[path] == 'common':
            continue
        m = module(path)
        edges.setdefault(m, set())
        for inc in incs:
            other = module(inc)
            if other != m and header_layer.get(inc) not in (None, 'common') and inc not in GENERATED:
                edges[m].add(other)
    return files, header_layer, includes, edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def check_layers():
    files, header_layer, includes, edges = graph()
    problems = []
    for path, incs in sorted(includes.items()):
        layer = files[path]
        for inc in incs:
            target = header_layer.get(inc)
            if target is None:
                problems.append(f'{os.path.relpath(path, TOP)}: includes "{inc}", which is not in the tree')
            elif RANK[target] > RANK[layer] or \
                    (target != layer and {target, layer} == {'kernel', 'libvirt'}):
                problems.append(f'{os.path.relpath(path, TOP)} ({layer}/) includes "{inc}" ({target}/): '
                                f'against the layer order')
    for comp in cycles(edges):
        problems.append('a cycle of modules: ' + ' <-> '.join(comp))
    for p in problems:
        print(p)
    print(f'layers: {len(files)} files, {len(problems)} problems')
    return not problems


DEF = re.compile(r'^(?!static\b)[A-Za-z_][\w \*]*\n([a-z_][a-z0-9_]*) \(', re.M)
TYPE = re.compile(r'\b(?:typedef\s+struct\s+\w*\s*\{[^}]*\}\s*(Hdd\w+)\s*;|'
                  r'G_DECLARE_\w+_TYPE\s*\((Hdd\w+)|typedef\s+struct\s+_\w+\s+(Hdd\w+)\s*;)', re.S)


def snake(name):
    return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower() + '_'


def cli_sources():
    cli = os.path.join(TOP, 'cli')
    return [os.path.join(cli, n) for n in sorted(os.listdir(cli))
            if n.endswith('.c') and n != 'hostdevctl.c']


def check_prefix():
    problems = []
    daemon = [p for p, layer in sorted(sources().items())
              if layer not in ('common', 'main') and p.endswith('.c')]
    for path in daemon + cli_sources():
        if path in daemon:
            prefix = module(path).replace('-', '_') + '_'
            prefixes = [prefix]
        else:
            prefix = 'hdc_' + module(path)[len('hostdevctl-'):].replace('-', '_') + '_'
            prefixes = [prefix, 'hdc_cmd_', 'hdc_mdev_']
        header = path[:-2] + '.h'
        if os.path.exists(header):
            with open(header) as f:
                for m in TYPE.finditer(f.read()):
                    prefixes.append(snake(next(g for g in m.groups() if g)))
        with open(path) as f:
            for m in DEF.finditer(f.read()):
                name = m.group(1)
                if not any(name.startswith(p) or name + "_" == p for p in prefixes):
                    problems.append(f'{os.path.relpath(path, TOP)}: {name} does not start with {prefix}')
    for p in problems:
        print(p)
    print(f'prefix: {len(problems)} problems')
    return not problems


def closure(header, header_layer, includes_of):
    seen, todo = set(), [header]
    while todo:
        h = todo.pop()
        for inc in includes_of.get(h, ()):
            if inc not in seen and inc in header_layer and inc not in GENERATED \
                    and header_layer[inc] != 'common':
                seen.add(inc)
                todo.append(inc)
    return seen


def figures():
    files, header_layer, includes, edges = graph()
    includes_of = {os.path.basename(p): incs for p, incs in includes.items()}
    comps = cycles(edges)
    largest = max((len(c) for c in comps), default=0)
    closures = {os.path.basename(p): closure(os.path.basename(p), header_layer, includes_of)
                for p in files if p.endswith('.h') and files[p] != 'common'}
    big = max(closures.items(), key=lambda kv: len(kv[1]))
    print(f'modules: {len(edges)}; largest cycle: {largest} modules')
    print(f'largest header closure: {big[0]} pulls in {len(big[1])} daemon headers')
    for h in ('hdd-manager.h', 'hdd-job.h', 'hdd-context.h'):
        rebuilt = [p for p in files if p.endswith('.c') and
                   (h in includes[p] or any(h in closures.get(i, ()) or i == h for i in includes[p]))]
        print(f'files rebuilt when {h} changes: {len(rebuilt)}')
    return True


def main():
    what = sys.argv[1:] or ['layers', 'prefix']
    ok = True
    for w in what:
        ok = {'layers': check_layers, 'prefix': check_prefix, 'figures': figures}[w]() and ok
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
