#!/usr/bin/python3
"""Helpers around docker-py's integration suite (tests/integration), for
scripts/dockerpy-reference.sh and test/dockerpy-suite.test.ts.

  dockerpy.py results <junit.xml> <suite-dir>
      one line per test case: <status>\t<node id>\t<first line of the message>
      (status: pass, failure, error, skipped; node id as pytest names it,
      tests/integration/<file>.py::<Class>::<test>)
  dockerpy.py swarm <suite-dir>
      the node ids of the tests that need Swarm: the test itself, or its class's
      setUp/setUpClass/setup_class/setup_method, inits a swarm
"""
import ast
import os
import re
import sys
import xml.etree.ElementTree as ET

SWARM_CALL = re.compile(r'init_swarm\(|swarm\.init\(')
SETUPS = ('setUp', 'setUpClass', 'setup_class', 'setup_method')


def node_id(suite, classname, name):
    """junit's classname (dotted module[.Class]) and name -> pytest's node id."""
    parts = classname.split('.')
    for i in range(len(parts), 0, -1):
        rel = '/'.join(parts[:i]) + '.py'
        if os.path.isfile(os.path.join(suite, rel)):
            return '::'.join([rel] + parts[i:] + [name])
    return '::'.join(['/'.join(parts) + '.py', name])


def results(junit, suite):
    for tc in ET.parse(junit).getroot().iter('testcase'):
        status, msg = 'pass', ''
        for ch in tc:
            if ch.tag in ('failure', 'error'):
                status = ch.tag
            elif ch.tag == 'skipped':
                status = 'skipped'
            else:
                continue
            msg = (ch.get('message') or ch.text or '').strip().split('\n')[0]
            break
        msg = msg.replace('\t', ' ')[:300]
        print(f"{status}\t{node_id(suite, tc.get('classname', ''), tc.get('name', ''))}\t{msg}")


def swarm(suite):
    root = os.path.join(suite, 'tests', 'integration')
    out = []
    for f in sorted(os.listdir(root)):
        if not (f.endswith('_test.py') or f.startswith('test_')) or not f.endswith('.py'):
            continue
        src = open(os.path.join(root, f), encoding='utf-8').read()
        for cls in ast.parse(src).body:
            if not isinstance(cls, ast.ClassDef):
                continue
            fns = [fn for fn in cls.body if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))]
            in_setup = any(fn.name in SETUPS and SWARM_CALL.search(ast.get_source_segment(src, fn) or '') for fn in fns)
            for fn in fns:
                if fn.name.startswith('test') and (in_setup or SWARM_CALL.search(ast.get_source_segment(src, fn) or '')):
                    out.append(f'tests/integration/{f}::{cls.name}::{fn.name}')
    print('\n'.join(out))


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'results':
        results(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == 'swarm':
        swarm(sys.argv[2])
    else:
        sys.exit(__doc__)
