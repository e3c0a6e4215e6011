import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortShort, parseSize, parseVolumeShort, splitShellWords } from './syntax.js';

test('ports: every short form of the spec', () => {
  assert.deepEqual(parsePortShort('3000'), [{ target: 3000 }]);
  assert.deepEqual(parsePortShort(80), [{ target: 80 }]);
  assert.deepEqual(parsePortShort('3000-3002'), [{ target: 3000 }, { target: 3001 }, { target: 3002 }]);
  assert.deepEqual(parsePortShort('8000:8000'), [{ target: 8000, published: '8000' }]);
  assert.deepEqual(parsePortShort('9090-9091:8080-8081'), [
    { target: 8080, published: '9090' },
    { target: 8081, published: '9091' },
  ]);
  assert.deepEqual(parsePortShort('8000-9000:80'), [{ target: 80, published: '8000-9000' }]);
  assert.deepEqual(parsePortShort('127.0.0.1:8001:8001'), [{ target: 8001, published: '8001', host_ip: '127.0.0.1' }]);
  assert.deepEqual(parsePortShort('127.0.0.1:5000-5001:5000-5001'), [
    { target: 5000, published: '5000', host_ip: '127.0.0.1' },
    { target: 5001, published: '5001', host_ip: '127.0.0.1' },
  ]);
  assert.deepEqual(parsePortShort('127.0.0.1::80'), [{ target: 80, host_ip: '127.0.0.1' }]);
  assert.deepEqual(parsePortShort('::1:6000:6000'), [{ target: 6000, published: '6000', host_ip: '::1' }]);
  assert.deepEqual(parsePortShort('[::1]:6001:6001'), [{ target: 6001, published: '6001', host_ip: '::1' }]);
  assert.deepEqual(parsePortShort('6060:6060/udp'), [{ target: 6060, published: '6060', protocol: 'udp' }]);
  assert.deepEqual(parsePortShort('8080:80/UDP'), [{ target: 80, published: '8080', protocol: 'udp' }]);
  assert.equal(parsePortShort('80/icmp'), 'invalid proto: icmp');
  assert.equal(parsePortShort('x:80'), 'invalid hostPort: x');
  assert.equal(parsePortShort('80:y'), 'invalid containerPort: y');
  assert.match(String(parsePortShort('1-3:1-2')), /invalid port range/);
  assert.equal(parsePortShort('70000'), 'invalid containerPort: 70000');
});

test('volumes: bind, named, anonymous, options', () => {
  assert.deepEqual(parseVolumeShort('/anon'), { type: 'volume', target: '/anon' });
  assert.deepEqual(parseVolumeShort('named:/d'), { type: 'volume', source: 'named', target: '/d' });
  assert.deepEqual(parseVolumeShort('./data:/d:ro'), { type: 'bind', source: './data', target: '/d', read_only: true, bind: { create_host_path: true } });
  assert.deepEqual(parseVolumeShort('~/x:/x:rw,Z,rshared'), {
    type: 'bind',
    source: '~/x',
    target: '/x',
    bind: { create_host_path: true, selinux: 'Z', propagation: 'rshared' },
  });
  assert.deepEqual(parseVolumeShort('/abs:/a:cached'), { type: 'bind', source: '/abs', target: '/a', consistency: 'cached', bind: { create_host_path: true } });
  assert.deepEqual(parseVolumeShort('v:/v:nocopy'), { type: 'volume', source: 'v', target: '/v', volume: { nocopy: true } });
  assert.match(String(parseVolumeShort('v:/v:bogus')), /unknown option bogus/);
  assert.match(String(parseVolumeShort(':/v')), /empty section/);
  assert.match(String(parseVolumeShort('a:b:c:d')), /too many colons/);
});

test('sizes: docker units, 1024-based', () => {
  assert.equal(parseSize('512m'), 512 * 1024 * 1024);
  assert.equal(parseSize('1g'), 1024 ** 3);
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('100kb'), 102400);
  assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('1024'), 1024);
  assert.equal(parseSize('10 b'), 10);
  assert.equal(parseSize(2048), 2048);
  assert.equal(parseSize('-1'), -1);
  assert.equal(parseSize('lots'), undefined);
});

test('command strings: words, quotes, escapes, no expansion', () => {
  assert.deepEqual(splitShellWords('echo hello   world'), ['echo', 'hello', 'world']);
  assert.deepEqual(splitShellWords(`sh -c "echo \\"hi\\" \\$HOME" 'a b'`), ['sh', '-c', 'echo "hi" $HOME', 'a b']);
  assert.deepEqual(splitShellWords('a\\ b c""d \'\' $X'), ['a b', 'cd', '', '$X']);
  assert.deepEqual(splitShellWords('"x\\n" \'y\\n\''), ['xn', 'y\\n']);
  assert.deepEqual(splitShellWords('  '), []);
  assert.deepEqual(splitShellWords('echo a && echo b'), ['echo', 'a']);
  assert.deepEqual(splitShellWords('run 2>/dev/null'), ['run']);
  assert.deepEqual(splitShellWords('sh -c "a; b" x;y'), ['sh', '-c', 'a; b', 'x']);
  assert.deepEqual(splitShellWords('echo $(date +%s) `a b`'), ['echo', '$(date +%s)', '`a b`']);
  assert.match(String(splitShellWords("it's")), /^invalid command line string/);
  assert.match(String(splitShellWords('f (x)')), /^invalid command line string/);
  assert.match(String(splitShellWords('end\\')), /^invalid command line string/);
});
