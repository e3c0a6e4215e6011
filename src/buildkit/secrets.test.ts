/** Unit tests for the secret IDs a Dockerfile's `RUN --mount=type=secret` flags name. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { secretIds } from './secrets.js';

describe('secretIds', () => {
  it('takes id=, else the target base name; other mount types and duplicates are left out', () => {
    const df = [
      'FROM busybox',
      'RUN --mount=type=secret,id=foo cat /run/secrets/foo',
      'RUN --mount=type=secret,target=/etc/token,required=true --mount=type=cache,target=/c true',
      'RUN --mount="type=secret,id=quoted" --mount=type=secret,id=foo true',
      'RUN --mount=type=ssh ssh-add -l',
    ].join('\n');
    assert.deepEqual(secretIds(df), ['foo', 'token', 'quoted']);
  });

  it('a Dockerfile without secret mounts names none', () => {
    assert.deepEqual(secretIds('FROM busybox\nRUN --mount=type=tmpfs,target=/t true\n'), []);
  });
});
