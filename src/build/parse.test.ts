/** Unit tests for the Dockerfile front end: the word lexer, .dockerignore rules and the parser. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expandPairs, expandWord, expandWords } from './shell.js';
import { isIgnored, parseIgnore } from './ignore.js';
import { parseDockerfile } from './dockerfile.js';

const vars = new Map([
  ['A', 'alpha'],
  ['EMPTY', ''],
]);

describe('shell lexer', () => {
  it('expands variables with the modifiers Docker supports', () => {
    assert.equal(expandWord('$A-${A}', vars), 'alpha-alpha');
    assert.equal(expandWord('${UNSET:-dflt} ${EMPTY:-e} [${EMPTY-unused}] ${UNSET-u}', vars), 'dflt e [] u');
    assert.equal(expandWord('${A:+set}${UNSET:+no}${EMPTY+plus}', vars), 'setplus');
    assert.throws(() => expandWord('${UNSET:?must be set}', vars), /UNSET: must be set/);
  });
  it('honours quotes and the escape character', () => {
    assert.deepEqual(expandWords(`a "b c" 'd $A' "e $A" f\\ g \\$A`, vars), ['a', 'b c', 'd $A', 'e alpha', 'f g', '$A']);
    assert.deepEqual(expandWords('x`y', vars, '`'), ['xy']);
  });
  it('reads key=value pairs and the legacy ENV form', () => {
    assert.deepEqual(expandPairs('K="v w" L=$A', vars, { legacy: true, what: 'ENV' }), [
      ['K', 'v w'],
      ['L', 'alpha'],
    ]);
    assert.deepEqual(expandPairs('K value with spaces', vars, { legacy: true, what: 'ENV' }), [['K', 'value with spaces']]);
    assert.deepEqual(expandPairs('NAME OTHER=1', vars, { legacy: false, what: 'ARG' }), [
      ['NAME', undefined],
      ['OTHER', '1'],
    ]);
  });
});

describe('.dockerignore', () => {
  const rules = parseIgnore('# comment\n*.log\n**/tmp\n!keep.log\n/build/\nsub/*.txt\n');
  it('matches as Docker does, parents included, last rule wins', () => {
    assert.equal(isIgnored(rules, 'a.log'), true);
    assert.equal(isIgnored(rules, 'keep.log'), false);
    assert.equal(isIgnored(rules, 'dir/a.log'), false, '*.log is anchored at the root');
    assert.equal(isIgnored(rules, 'x/y/tmp/file'), true, '** spans directories; a parent match excludes');
    assert.equal(isIgnored(rules, 'tmp'), true);
    assert.equal(isIgnored(rules, 'build/out.o'), true);
    assert.equal(isIgnored(rules, 'sub/a.txt'), true);
    assert.equal(isIgnored(rules, 'sub/deeper/a.txt'), false);
  });
});

describe('Dockerfile parser', () => {
  it('splits stages, flags, JSON forms and heredocs', () => {
    const df = parseDockerfile('ARG V=1\nFROM busybox AS Build\nCOPY --from=x --chown=1:1 a b/\nRUN ["echo", "hi"]\nRUN <<EOF\necho doc\nEOF\nFROM build\n');
    assert.equal(df.globalArgs.length, 1);
    assert.equal(df.stages.length, 2);
    assert.equal(df.stages[0]?.name, 'build');
    const [copy, run, heredoc] = df.stages[0]?.instructions ?? [];
    assert.deepEqual(copy?.flags, [
      ['from', 'x'],
      ['chown', '1:1'],
    ]);
    assert.equal(copy?.args, 'a b/');
    assert.deepEqual(run?.json, ['echo', 'hi']);
    assert.equal(heredoc?.heredocs[0]?.content, 'echo doc\n');
    assert.equal(heredoc?.line, 5);
  });
  it('reports errors with the line, as Docker does', () => {
    assert.throws(() => parseDockerfile('FROM a\n\nBOGUS x\n'), /dockerfile parse error line 3: unknown instruction: BOGUS/);
    assert.throws(() => parseDockerfile('FROM a b\n'), /line 1: FROM requires either one or three arguments/);
    assert.throws(() => parseDockerfile('FROM a\nCOPY onlyone\n'), /line 2: COPY requires at least two arguments/);
    assert.throws(() => parseDockerfile('RUN x\n'), /line 1: no build stage/);
  });
});
