/** Unit tests of berth-web's pure parts: flags, the token and session rules, Origin, the allow-list, stats. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Auth, OriginPolicy, SESSION_TTL_MS, parseCookies, secretEquals } from './auth.js';
import { isLoopback, parseArgs, parseListen } from './config.js';
import { forwardedQuery, matchRoute } from './proxy.js';
import { LineSplitter, statsPoint } from './sse.js';

const fakeReq = (headers: http.IncomingHttpHeaders, method = 'GET'): http.IncomingMessage => ({ headers, method }) as http.IncomingMessage;

describe('web config', () => {
  it('parses --listen and knows loopback', () => {
    assert.deepEqual(parseListen('127.0.0.1:8420'), { host: '127.0.0.1', port: 8420 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.throws(() => parseListen(':8420'), /name the host/);
    assert.throws(() => parseListen('127.0.0.1'), /HOST:PORT/);
    assert.throws(() => parseListen('127.0.0.1:70000'), /HOST:PORT/);
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'a.localhost']) assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) assert.ok(!isLoopback(h), h);
  });

  it('refuses a non-loopback listener without TLS, and half a TLS pair', () => {
    assert.throws(() => parseArgs(['--listen', '0.0.0.0:8420']), /without TLS/);
    assert.throws(() => parseArgs(['--tls-cert', 'c.pem']), /go together/);
    const c = parseArgs(['--listen=0.0.0.0:8443', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '-H', 'unix:///x.sock'], {});
    assert.deepEqual(c.tls, { cert: 'c.pem', key: 'k.pem' });
    assert.equal(c.daemonHost, 'unix:///x.sock');
    assert.equal(parseArgs([], { BERTH_HOST: 'unix:///b.sock' }).daemonHost, 'unix:///b.sock');
    assert.equal(parseArgs([], {}).daemonHost, 'unix:///run/berth.sock');
    assert.throws(() => parseArgs(['--bogus']), /unknown flag/);
  });
});

describe('web auth', () => {
  it('compares secrets by value only', () => {
    assert.ok(secretEquals('abc', 'abc'));
    assert.ok(!secretEquals('abc', 'abd'));
    assert.ok(!secretEquals('abc', 'abcd'));
    assert.deepEqual(
      [...parseCookies('a=1; berth_web_session=x=y ;b')],
      [
        ['a', '1'],
        ['berth_web_session', 'x=y'],
      ],
    );
  });

  it('knows Bearer, sessions, expiry and CSRF', () => {
    let now = 1000;
    const auth = new Auth({ secure: true, token: 't0k', now: () => now });
    assert.deepEqual(auth.principal(fakeReq({ authorization: 'Bearer t0k' })), { kind: 'bearer' });
    assert.equal(auth.principal(fakeReq({ authorization: 'Bearer nope' })), undefined);
    assert.equal(auth.principal(fakeReq({})), undefined);
    const s = auth.createSession();
    assert.match(s.cookie, /HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
    const cookie = s.cookie.split(';')[0]!;
    const p = auth.principal(fakeReq({ cookie }));
    assert.equal(p?.kind, 'session');
    // a wrong Authorization header is not saved by a good cookie
    assert.equal(auth.principal(fakeReq({ cookie, authorization: 'Bearer nope' })), undefined);
    assert.ok(!auth.csrfOk(fakeReq({ cookie }, 'POST'), p));
    assert.ok(!auth.csrfOk(fakeReq({ cookie, 'x-csrf-token': 'x' }, 'POST'), p));
    assert.ok(auth.csrfOk(fakeReq({ cookie, 'x-csrf-token': s.csrf }, 'POST'), p));
    assert.ok(auth.csrfOk(fakeReq({}, 'POST'), { kind: 'bearer' }));
    now += SESSION_TTL_MS;
    assert.equal(auth.principal(fakeReq({ cookie })), undefined, 'expired');
  });

  it('refuses other origins and foreign Host names', () => {
    const p = new OriginPolicy('http', OriginPolicy.loopbackHosts(8420));
    assert.ok(p.hostOk(fakeReq({ host: '127.0.0.1:8420' })));
    assert.ok(p.hostOk(fakeReq({ host: 'LOCALHOST:8420' })));
    assert.ok(!p.hostOk(fakeReq({ host: 'evil.example:8420' })));
    assert.ok(!p.hostOk(fakeReq({})));
    const own = { host: '127.0.0.1:8420' };
    assert.ok(p.sameOrigin(fakeReq(own)));
    assert.ok(p.sameOrigin(fakeReq({ ...own, origin: 'http://127.0.0.1:8420', 'sec-fetch-site': 'same-origin' })));
    assert.ok(p.sameOrigin(fakeReq({ ...own, 'sec-fetch-site': 'none' })));
    assert.ok(!p.sameOrigin(fakeReq({ ...own, origin: 'http://localhost:8420' })), 'another origin, though the same machine');
    assert.ok(!p.sameOrigin(fakeReq({ ...own, origin: 'null' })));
    assert.ok(!p.sameOrigin(fakeReq({ ...own, 'sec-fetch-site': 'cross-site' })));
  });
});

describe('web proxy allow-list', () => {
  it('matches allowed calls and nothing else', () => {
    assert.deepEqual(matchRoute('POST', '/containers/abc123/stop')?.params, ['abc123']);
    assert.equal(matchRoute('GET', '/images/localhost%3A5000%2Fa%2Fb%3A1/json')?.params[0], 'localhost:5000/a/b:1');
    assert.equal(matchRoute('GET', '/images/registry:5000/a/b@sha256:00/history')?.params[0], 'registry:5000/a/b@sha256:00');
    for (const [m, p] of [
      ['POST', '/containers/create'],
      ['POST', '/containers/abc/exec'],
      ['POST', '/containers/abc/kill'],
      ['GET', '/containers/abc/archive'],
      ['GET', '/containers/a%2F..%2Fb/json'],
      ['GET', '/images/a/../../containers/json/json'],
      ['GET', '/images/a//b/json'],
      ['DELETE', '/images/busybox'],
      ['GET', '/containers/%ZZ/json'],
      ['POST', '/containers/json'],
      ['GET', '/v1.50/containers/json'],
    ] as const) {
      assert.equal(matchRoute(m, p), undefined, `${m} ${p}`);
    }
  });

  it('passes on only the route’s query parameters, and its fixed ones', () => {
    const stop = matchRoute('POST', '/containers/x/stop')!.route;
    assert.deepEqual(forwardedQuery(stop, new URLSearchParams('t=3&signal=KILL&evil=1')), { t: '3', signal: 'KILL' });
    const list = matchRoute('GET', '/containers/json')!.route;
    assert.deepEqual(forwardedQuery(list, new URLSearchParams('all=1&filters=a&filters=b')), { all: '1', filters: ['a', 'b'] });
    const stats = matchRoute('GET', '/containers/x/stats')!.route;
    assert.deepEqual(forwardedQuery(stats, new URLSearchParams('stream=1')), { stream: '0' });
    const pull = matchRoute('POST', '/images/create')!.route;
    assert.match(pull.check!(new URLSearchParams('fromSrc=-')) ?? '', /fromImage is required/);
    assert.deepEqual(forwardedQuery(pull, new URLSearchParams('fromImage=busybox&fromSrc=-&repo=x')), { fromImage: 'busybox' });
  });
});

describe('web streams', () => {
  it('reduces a stats document as docker stats does', () => {
    const p = statsPoint({
      read: 'r',
      cpu_stats: { cpu_usage: { total_usage: 400 }, system_cpu_usage: 2000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 200 }, system_cpu_usage: 1000 },
      memory_stats: { usage: 1000, limit: 4000, stats: { total_inactive_file: 100 } },
      pids_stats: { current: 3 },
    });
    assert.deepEqual(p, { read: 'r', cpuPercent: 40, memUsage: 900, memLimit: 4000, pids: 3 });
    assert.equal(statsPoint({}).cpuPercent, 0);
  });

  it('splits lines across chunks and UTF-8 boundaries', () => {
    const s = new LineSplitter();
    const euro = Buffer.from('€');
    assert.deepEqual(s.push(Buffer.concat([Buffer.from('a\r\nb'), euro.subarray(0, 1)])), ['a']);
    assert.deepEqual(s.push(Buffer.concat([euro.subarray(1), Buffer.from('\nc')])), ['b€']);
    assert.equal(s.flush(), 'c');
    assert.equal(s.flush(), undefined);
  });
});
