#!/usr/bin/python3
"""Adds up the results of every suite into the closing line CI reads.

Usage: summarize.py RESULTS_DIR [FAILED_STEP...]
meson's testlog.json files count one test per executable; pytest's JUnit XML
one per test case.  A step that failed without producing results (a build)
counts as one failure, so a broken build can never look green."""

import json
import os
import sys
import xml.etree.ElementTree as ET


def main():
    results, failed_steps = sys.argv[1], sys.argv[2:]
    passed = failed = skipped = 0
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
                 'D-Bus integration tests': 'integration'}
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
