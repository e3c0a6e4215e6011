import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkSyntax, requestedSyntax } from './frontend.js';

describe('the # syntax= directive', () => {
  it('is read from the leading comment directives only', () => {
    assert.equal(requestedSyntax('# syntax=docker/dockerfile:1.4\nFROM busybox\n', {}), 'docker/dockerfile:1.4');
    assert.equal(requestedSyntax('#escape=`\n# Syntax = docker/dockerfile:1 \nFROM busybox\n', {}), 'docker/dockerfile:1');
    assert.equal(requestedSyntax('FROM busybox\n# syntax=docker/dockerfile:1\n', {}), undefined);
    assert.equal(requestedSyntax('# a comment\n# syntax=x/y\nFROM busybox\n', {}), undefined);
    assert.equal(requestedSyntax('# syntax=docker/dockerfile:1\n', { 'build-arg:BUILDKIT_SYNTAX': 'other/frontend:2' }), 'other/frontend:2');
  });

  it("accepts Docker's standard frontend by any tag or digest and refuses others", () => {
    for (const ok of [
      undefined,
      '',
      'docker/dockerfile',
      'docker/dockerfile:1',
      'docker.io/docker/dockerfile:1.4.3',
      'docker/dockerfile-upstream:master',
      `docker/dockerfile:1@sha256:${'a'.repeat(64)}`,
    ]) {
      assert.doesNotThrow(() => checkSyntax(ok), String(ok));
    }
    for (const bad of ['tonistiigi/dockerfile:runmount', 'example.com/docker/dockerfile:1', 'docker/dockerfilex', 'docker/dockerfile:1 extra']) {
      assert.throws(() => checkSyntax(bad), /is not supported: Berth builds with its built-in Dockerfile frontend/, bad);
    }
  });
});
