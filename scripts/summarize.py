#!/usr/bin/python3
"""Adds up the results of every suite into the closing line CI reads.

Usage: summarize.py RESULTS_DIR [FAILED_STEP...]
meson's testlog.json files count one test per executable; pytest's JUnit XML
one per test case; the lab's output (*.lab) one per boot and scenario, from
its "PASS name" / "FAIL name" result lines.  A step that failed without producing results (a build)
counts as one failure, so a broken build can never look green."""

import json
import os
import sys
import xml.etree.ElementTree as ET


def lab_results(path):
    """Counts the result block lab.py prints after '--- lab results'."""
    passed = failed = 0
    in_results = False
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('--- lab results'):
                in_results = True
            elif in_results and line.startswith('PASS '):
                passed += 1
            elif in_results and line.startswith('FAIL '):
                failed += 1
    return passed, failed


def main():
    results, failed_steps = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    skipped = int(os.environ.get('SKIPPED', '0'))   # suites skipped on request
    seen_files = set()
    for name in sorted(os.listdir(results)):
        path = os.path.join(results, name)
        seen_files.add(name.rsplit('.', 1)[0])
        if name.endswith('.json'):
            with open(path) as f:
                for line in f:
                    r = json.loads(line)['result']
                    if r in ('OK', 'EXPECTEDFAIL'):
                        passed += 1
                    elif r == 'SKIP':
                        skipped += 1
                    else:
                        failed += 1
        elif name.endswith('.lab'):
            p, f = lab_results(path)
            passed += p
            failed += f
        elif name.endswith('.xml'):
            for suite in ET.parse(path).getroot().iter('testsuite'):
                n = int(suite.get('tests', 0))
                f = int(suite.get('failures', 0)) + int(suite.get('errors', 0))
                s = int(suite.get('skipped', 0))
                passed += n - f - s
                failed += f
                skipped += s
    # Steps that failed before writing results still count.
    producing = {'unit tests': 'unit', 'unit tests under ASan+UBSan': 'asan',
                 'D-Bus integration tests': 'integration', 'D-Bus fuzzer': 'dbus-fuzz'}
    # A lab step's output (its make target's name .lab) always exists; it
    # counts only if it has results.
    lab_steps = {'lab (real kernel in an emulated host)': 'lab-check',
                 'lab race suite (debug kernel: KASAN, lockdep)': 'lab-race',
                 'ops lint (systemd-analyze, lintian, yamllint, ansible-lint)': 'lint-ops',
                 'ansible playbook against a fresh lab host': 'ansible-check',
                 'fuzzing (libFuzzer)': 'fuzz'}
    for step, target in lab_steps.items():
        path = os.path.join(results, target + '.lab')
        if os.path.exists(path) and lab_results(path) != (0, 0):
            producing[step] = target
    for step in failed_steps:
        if producing.get(step) not in seen_files:
            print('step failed without results: %s' % step)
            failed += 1
    if failed_steps:
        print('failed steps: %s' % ', '.join(failed_steps))
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or failed_steps else 0


if __name__ == '__main__':
    sys.exit(main())
