// The CLI's option parsers: text in, a typed value or commander's InvalidArgumentError out (exit 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  collectHeader,
  collectRoute,
  collectSecret,
  parseCount,
  parseDuration,
  parseMaxBody,
  parsePath,
  parsePort,
  parseSizeOption,
  parseSubdomain,
  parseTarget,
  parseTunnelHost,
  routesOf,
} from '../../src/cli/options.js';

const refused = (fn: () => unknown, message: RegExp): void => assert.throws(fn, (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message));

test('sizes are decimal, as they are shown (10mb is 10,000,000 bytes); kib/mib are binary; --max-body stops at 256mb', () => {
  assert.equal(parseSizeOption('10mb'), 10_000_000);
  assert.equal(parseSizeOption('512kb'), 512_000);
  assert.equal(parseSizeOption('1.5 MB'), 1_500_000);
  assert.equal(parseSizeOption('1048576'), 1_048_576);
  assert.equal(parseSizeOption('1mib'), 1_048_576);
  assert.equal(parseSizeOption('2k'), 2000);
  refused(() => parseSizeOption('lots'), /a size like/);
  refused(() => parseSizeOption('10 parsecs'), /a size like/);
  assert.equal(parseMaxBody('256mb'), 256_000_000);
  refused(() => parseMaxBody('257mb'), /at most 256mb/);
  refused(() => parseMaxBody('1gb'), /at most 256mb/);
});

test('durations: ms, s (the default unit) and m; zero and past a timer’s reach are refused', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('35791m'), 2_147_460_000);
  refused(() => parseDuration('0s'), /more than zero/);
  refused(() => parseDuration('35792m'), /at most 35791m/);
  refused(() => parseDuration('soon'), /a duration like/);
});

test('ports and counts: whole numbers; a count past 2^53 means all of them', () => {
  assert.equal(parsePort('0'), 0);
  assert.equal(parsePort('65535'), 65535);
  refused(() => parsePort('65536'), /0 to 65535/);
  refused(() => parsePort('-1'), /0 to 65535/);
  assert.equal(parseCount('10'), 10);
  assert.equal(parseCount('99999999999999999999'), Number.MAX_SAFE_INTEGER);
  refused(() => parseCount('1.5'), /whole number/);
});

test('targets: a port, :port, host:port and URLs; other schemes and a host of digits are refused', () => {
  assert.equal(parseTarget('3000'), 'http://localhost:3000');
  assert.equal(parseTarget('3000/hook'), 'http://localhost:3000/hook');
  assert.equal(parseTarget(':3000/hook?x=1'), 'http://localhost:3000/hook?x=1');
  assert.equal(parseTarget('localhost:3000/hook'), 'http://localhost:3000/hook');
  assert.equal(parseTarget('https://app.test/hook'), 'https://app.test/hook');
  refused(() => parseTarget('ftp://x'), /only http:\/\/ and https:\/\//);
  refused(() => parseTarget('http://21300/hook'), /"21300" is not a host; .*localhost:21300/);
  refused(() => parseTarget('http://exa mple'), /is not a URL/);
});

test('routes: names=URL binds a target to names; a URL also given without names takes everything', () => {
  const routes = ['check_run,push=3000', 'issues=3000', 'http://localhost:4000', 'push=4001'].reduce((all, v) => collectRoute(v, all), [] as ReturnType<typeof collectRoute>);
  assert.deepEqual(routes, [
    { url: 'http://localhost:3000', names: ['check_run', 'push'] },
    { url: 'http://localhost:3000', names: ['issues'] },
    { url: 'http://localhost:4000' },
    { url: 'http://localhost:4001', names: ['push'] },
  ]);
  assert.deepEqual([...routesOf(routes)], [
    ['http://localhost:3000', ['check_run', 'push', 'issues']],
    ['http://localhost:4001', ['push']],
  ]);
  assert.deepEqual([...routesOf([...routes, { url: 'http://localhost:3000' }])], [['http://localhost:4001', ['push']]]);
  assert.deepEqual(collectRoute('https://app.test/a=b'), [{ url: 'https://app.test/a=b' }], 'a URL with = is a URL');
});

test('secrets: an empty one, or a provider with nothing after it (an unset variable), is refused', () => {
  assert.deepEqual(collectSecret('github:abc', ['x']), ['x', 'github:abc']);
  refused(() => collectSecret(''), /it is empty — is the variable/);
  refused(() => collectSecret('stripe:'), /nothing follows "stripe:"/);
});

test('headers, paths, subdomains and tunnel hosts', () => {
  assert.deepEqual(collectHeader('Authorization:  Bearer t '), [['Authorization', 'Bearer t']]);
  refused(() => collectHeader('no colon'), /"Name: value"/);
  refused(() => collectHeader('X: a\nb'), /Name: value|line break/);
  refused(() => collectHeader('X: a\0b'), /line break/);
  assert.equal(parsePath('hook'), '/hook');
  refused(() => parsePath('/a b'), /no spaces/);
  assert.equal(parseSubdomain('Quiet-Otter-4821'), 'quiet-otter-4821');
  refused(() => parseSubdomain('ab-cd'), /subdomain/);
  refused(() => parseSubdomain('-abcdef'), /subdomain/);
  refused(() => parseSubdomain('a'.repeat(64)), /subdomain/);
  assert.equal(parseTunnelHost('http://localhost:21200/'), 'http://localhost:21200');
  refused(() => parseTunnelHost('localhost:21200'), /needs its scheme/);
});
