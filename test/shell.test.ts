import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ansiC, curlFor, fixtureName, printfFormat } from '../src/inspector/shell.js';
import { compactJson, recordLine, RawJson } from '../src/format/json-text.js';

const bash = (script: string): Buffer => execFileSync('bash', ['-c', script], { timeout: 5_000 });

test('printf formats and $-quotes give back every byte, in bash, from printable ASCII only', () => {
  const every = Buffer.from([...Array(256).keys()]);
  const fmt = printfFormat(every);
  assert.match(fmt, /^[\x20-\x7e]*$/);
  assert.deepEqual(bash(`printf ${fmt}`), every);
  const noNul = every.subarray(1);
  assert.match(ansiC(noNul), /^[\x20-\x7e]*$/);
  assert.deepEqual(bash(`printf %s ${ansiC(noNul)}`), noNul);
});

test('curlFor: headers and URL quoted, body from printf on stdin, never @file', () => {
  const cmd = curlFor({ id: 'x1', method: 'POST', headers: [['Content-Length', '3'], ['X-A', "it's"]], body: Buffer.from('@/etc/passwd') }, "http://127.0.0.1:1/p?q='1'");
  assert.match(cmd, /^printf '@\/etc\/passwd' \|\n {2}curl -X \$'POST' \$'http:\/\/127\.0\.0\.1:1\/p\?q=\\'1\\'' \\\n {2}-H \$'X-A: it\\'s' \\\n {2}--data-binary @-$/);
  assert.doesNotMatch(cmd, /Content-Length/);
});

test('fixtureName keeps [A-Za-z0-9._-] only', () => {
  assert.equal(fixtureName({ id: '01abc', name: 'invoice.html"; x="y' }, 'json'), 'invoice.html___x__y-01abc.json');
  assert.equal(fixtureName({ id: '01abc', name: '../../etc' }, 'bin'), '__.._etc-01abc.bin');
  assert.equal(fixtureName({ id: '01abc', name: null }, 'json'), 'event-01abc.json');
});

test('compactJson: one line, numbers as sent, unsafe characters escaped, any depth in linear time', () => {
  assert.equal(compactJson('{\n  "n": 12345678901234567890,\n  "s": "a b\\n\u009b\u202e"\n}'), '{"n":12345678901234567890,"s":"a b\\n\\u009b\\u202e"}');
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.equal(compactJson(deep), deep);
  assert.equal(recordLine({ type: 'event', body: new RawJson('[1.50]'), s: '\u0085' }), '{"type":"event","body":[1.50],"s":"\\u0085"}');
});
