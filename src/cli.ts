import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Printer } from './format/printer.js';
import { createTerminalPrinter } from './format/terminal.js';
import { createJsonPrinter } from './format/json.js';
import { DEFAULT_TUNNEL_HOST, SUBDOMAIN_RE } from './tunnel.js';
import { parseSecret, secretProblem } from './signature.js';
import type { CommandIO } from './commands/io.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const DEFAULT_PORT = 7070;
const DEFAULT_INSPECT_PORT = 4040;
const env = process.env;
// node:sqlite (the event store) announces itself as experimental on stderr; that one warning, and only it, is ours to hide.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (/SQLite is an experimental feature/.test(text)) return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
const debug = /(^|,)\s*(webhook-listen|\*)/.test(env.DEBUG ?? '');

// ---- argument parsers: each turns text into a typed value or says what is wrong ----

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return Number(value);
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, like 10.');
  return wholeCount(value);
}

/**
 * A count as given, digits only: one past what a double holds exactly means "all of them" (SQLite refused
 * `-n 99999999999999999999` as a LIMIT with "datatype mismatch", said as if the store were broken).
 */
function wholeCount(digits: string): number {
  return Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 };
export function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError('expected a size like 512kb, 10mb or 1048576.');
  return Math.floor(Number(m[1]) * unit);
}

/**
 * The largest --max-body: a body is held in memory, decoded to text, printed as JSON (base64 when binary) and kept
 * in one SQLite row; past ~512 MB node cannot make a string of it, and a listener told `--max-body 1gb` crashed on
 * the first such body. 256 MB bodies were checked through the default output, --json, --verbose and the inspector.
 */
const MAX_BODY_LIMIT = 256 * 1024 ** 2;

function parseMaxBody(value: string): number {
  const size = parseSize(value);
  if (size > MAX_BODY_LIMIT) throw new InvalidArgumentError('must be at most 256mb: a larger body cannot be decoded, printed or kept by one process.');
  return size;
}

/** The longest setTimeout() waits: 2^31 - 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration like 500ms, 30s or 2m.');
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const ms = unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new InvalidArgumentError('must be more than zero.');
  // Past this, node's timers fire after 1 ms (with a warning): a "no timeout" of 99999m gave up on every answer.
  if (Math.round(ms) > MAX_TIMER_MS) throw new InvalidArgumentError('must be at most 35791m (about 24 days), the longest a timer can wait.');
  return Math.round(ms);
}

/** --secret, repeatable; one that cannot be meant (an unset variable's) is a usage error. */
function collectSecret(value: string, previous: string[] = []): string[] {
  const problem = secretProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return [...previous, value];
}

/** `3000`, `:3000`, `localhost:3000/hook` and full http(s) URLs all name a forward target. */
export function parseTarget(value: string): string {
  let v = value.trim();
  // A bare port, with or without a path: 3000, 3000/hook, :3000/hook.
  if (/^\d+(?=$|[/?])/.test(v)) v = `http://localhost:${v}`;
  else if (/^:\d+/.test(v)) v = `http://localhost${v}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) v = `http://${v}`;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL; try 3000 or http://localhost:3000/my/webhook/url.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`only http:// and https:// targets can receive webhooks, not ${url.protocol}//.`);
  if (!url.hostname) throw new InvalidArgumentError(`"${value}" has no host.`);
  // http://21300/hook would go to the IPv4 address 0.0.83.52: a host of digits alone is a slip, not a place.
  const host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/:?#]+)/i.exec(v)?.[1] ?? '';
  if (/^\d+$/.test(host)) throw new InvalidArgumentError(`"${host}" is not a host; for a port on this machine write localhost:${host} (or just ${host}).`);
  return v;
}

function parseTunnelHost(value: string): string {
  let url: URL;
  // localhost:21200 with no scheme would be asked over TLS and fail for ever with EPROTO: say which one is meant.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new InvalidArgumentError(`a tunnel server needs its scheme: http://${value} or https://${value}.`);
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL; e.g. https://tunnel.example.com.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('a tunnel server is http:// or https://.');
  // The server answers 404 to a create request with a doubled slash: keep the origin only.
  return url.origin;
}

function parseSubdomain(value: string): string {
  const v = value.toLowerCase();
  if (!SUBDOMAIN_RE.test(v))
    throw new InvalidArgumentError('a subdomain is 4 to 63 lowercase letters, digits or dashes, not starting or ending with a dash.');
  return v;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, parseTarget(value)];
}

/** --forward-to [names=]url: a target bound to event names (comma-separated) takes only those events. */
function collectRoute(value: string, previous: { url: string; names?: string[] }[] = []): { url: string; names?: string[] }[] {
  const m = /^([A-Za-z0-9_.*-]+(?:,[A-Za-z0-9_.*-]+)*)=(.+)$/.exec(value.trim());
  if (m && !/^https?$/i.test(m[1]!)) return [...previous, { url: parseTarget(m[2]!), names: m[1]!.split(',') }];
  return [...previous, { url: parseTarget(value) }];
}

/** Targets bound to names: a URL given with names more than once takes the union; once without names, everything. */
function routesOf(routes: { url: string; names?: string[] }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const all = new Set(routes.filter((r) => !r.names).map((r) => r.url));
  for (const r of routes) if (r.names && !all.has(r.url)) out.set(r.url, [...(out.get(r.url) ?? []), ...r.names]);
  return out;
}

/** -H "Name: value", repeatable: a header added to (or replacing one of) every forwarded request. */
function collectHeader(value: string, previous: [string, string][] = []): [string, string][] {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*)$/.exec(value);
  if (!m) throw new InvalidArgumentError('a header is "Name: value", e.g. -H "Authorization: Bearer test".');
  if (/[\r\n\0]/.test(m[2]!)) throw new InvalidArgumentError('a header value cannot hold a line break.');
  return [...previous, [m[1]!, m[2]!.trim()]];
}

/** --insecure (also --skip-verify, as stripe has), for every command that sends to an app. */
const insecureOption = (): Option => new Option('--insecure', 'accept a self-signed certificate on https targets (alias --skip-verify)');
const skipVerifyOption = (): Option => new Option('--skip-verify').hideHelp();
const insecureOf = (opts: { insecure?: boolean; skipVerify?: boolean }): boolean => Boolean(opts.insecure || opts.skipVerify);

function parseNames(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('give one or more event names, comma-separated: newMessage,conversationUpdated.');
  return names;
}

function parsePath(value: string): string {
  if (!value.startsWith('/')) value = '/' + value;
  if (/[\s?#]/.test(value)) throw new InvalidArgumentError('a path has no spaces, ? or #; e.g. /my/webhook/url.');
  return value;
}

// ---- colour and output: decided here, once ----

function colorLevel(noColorFlag: boolean, stream: NodeJS.WriteStream): 0 | 1 | 2 | 3 {
  if (noColorFlag) return 0;
  if (env.NO_COLOR) return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  if (!stream.isTTY || env.TERM === 'dumb') return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  return 2;
}

interface OutputFlags {
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
}

function makePrinter(flags: OutputFlags): Printer {
  if (flags.json) return createJsonPrinter(process.stdout, process.stderr);
  return createTerminalPrinter({
    colorLevel: colorLevel(flags.color === false, process.stdout),
    width: process.stdout.isTTY ? process.stdout.columns || 100 : 0,
    verbose: flags.verbose ?? false,
    out: process.stdout,
    err: process.stderr,
    debug,
    interactive: Boolean(process.stderr.isTTY),
  });
}

export function defaultStoreDir(): string {
  if (env.WEBHOOK_LISTEN_HOME) return env.WEBHOOK_LISTEN_HOME;
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'webhook-listen');
}

/** Output for one-shot commands, decided from their flags. */
function commandIO(flags: OutputFlags): CommandIO {
  return {
    out: process.stdout,
    printer: makePrinter(flags),
    json: Boolean(flags.json),
    colorLevel: flags.json ? 0 : colorLevel(flags.color === false, process.stdout),
    width: process.stdout.isTTY ? process.stdout.columns || 100 : 0,
  };
}

function storeOf(opts: { store?: string }): string {
  return opts.store ?? (program.opts().store as string | undefined) ?? defaultStoreDir();
}

/** Runs a one-shot command: a RunError or a false result exits 1. */
async function runCommand(io: CommandIO, fn: () => Promise<boolean | void> | boolean | void): Promise<void> {
  try {
    const ok = await fn();
    if (ok === false) process.exitCode = 1;
  } catch (err) {
    fail(err, io.printer);
  }
}

async function readData(source: string): Promise<Buffer> {
  if (source !== '-') {
    try {
      return readFileSync(source);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? err}).`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * ^C (or SIGTERM) shuts down cleanly and exits 0; a second one exits at once. Installed before the session starts:
 * a ^C right after the ready line (before the session was returned) used to meet node's default and kill the
 * process mid-write. One that comes while starting stops the session as soon as it is up.
 */
function stopOnSignals(printer: Printer): { attach(session: { shutdown(): Promise<void> }): void; starting: AbortSignal } {
  let signals = 0;
  let session: { shutdown(): Promise<void> } | undefined;
  // A ^C while starting also cuts short what the start waits for (the banner's wait for a tunnel, up to 8 s).
  const starting = new AbortController();
  const shutdown = (s: { shutdown(): Promise<void> }): void => {
    s.shutdown().then(
      () => process.exit(0),
      (err: unknown) => fail(err, printer),
    );
  };
  const stop = (): void => {
    signals++;
    if (signals > 1) {
      // Lines still gathered for the terminal (up to 10 ms of them) go out before the hard exit.
      printer.flush();
      process.exit(130);
    }
    if (session) shutdown(session);
    else starting.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The program reading the output exited (`| head`, a crashed `| jq`): a clean stop, said, rather than an exit that
  // leaves this listener's claims on owed deliveries to lapse before the next start can resume them.
  let closed = false;
  stdoutClosed = () => {
    if (closed) return;
    closed = true;
    process.stderr.write('stopping: the output was closed (the program reading it exited)\n');
    stop();
  };
  return {
    starting: starting.signal,
    attach(s) {
      session = s;
      if (signals > 0) shutdown(s);
    },
  };
}

/** Reports a failure in one line (its cause with DEBUG=webhook-listen) and exits 1. */
function fail(err: unknown, printer?: Printer): never {
  const message = err instanceof Error ? err.message : String(err);
  printer?.flush();
  if (printer) printer.error(message, err);
  else process.stderr.write(`error: ${message}\n`);
  if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

// ---- the program ----

/** An option whose default is shown in help as typed (10mb, 30s), not as the parsed number. */
function withDefault(flags: string, description: string, parse: (v: string) => number, text: string): Option {
  return new Option(flags, description).argParser(parse).default(parse(text), text);
}

/** --forward-timeout, the same for every command that sends to an app (commander needs a new Option each time). */
const forwardTimeout = (): Option =>
  withDefault('--forward-timeout <duration>', 'give up on one attempt when the app has not answered within this long', parseDuration, '30s');

// A closed pipe (| head) ends output quietly rather than with a stack trace; a listener stops as on ^C (stopOnSignals).
let stdoutClosed = (): void => process.exit(0);
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') stdoutClosed();
});

const program = new Command();
program
  .name('webhook-listen')
  .description('Receive webhooks on your laptop: a public URL, a readable line per event, byte-exact forwarding to your app, and a history to replay.')
  .version(VERSION, '-V, --version')
  .enablePositionalOptions()
  .showHelpAfterError('(run webhook-listen --help for usage)')
  .exitOverride()
  .option('-p, --port <port>', `listener port; if the default is busy the next free one is used`, parsePort)
  .option('--host <address>', 'address to bind the listener to', '127.0.0.1')
  .option('-f, --forward-to <[names=]url>', 'forward each event to your app (repeatable); 3000 and localhost:3000/hook are shorthands; check_run,push=URL takes only those events', collectRoute)
  .option('--path <path>', 'accept events only on this path; other paths get 404', parsePath)
  .option('--events <names>', 'show and forward only these event names (comma-separated); others are still stored', parseNames)
  .option('--passthrough', "answer the sender with the first target's real response instead of an immediate 200")
  .option('--json', 'print one JSON record per line (ready, event, delivery, tunnel, ignored, refused, dropped) on stdout')
  .option('-v, --verbose', 'print headers and the whole body under each event')
  .addOption(withDefault('--max-body <size>', 'largest body accepted (at most 256mb); larger ones get 413', parseMaxBody, '10mb'))
  .addOption(forwardTimeout())
  .option('--retries <n>', 'retries of an event the app answers 5xx/429/408 or leaves unfinished (backoff 1 s doubling to 30 s); an unreachable app is waited for', parseCount, 25)
  .addOption(withDefault('--retry-delay <duration>', 'delay before the first retry; it doubles up to 30 s', parseDuration, '1s'))
  .option('--secret <[provider:]secret>', 'verify signatures with this secret (repeatable; also WEBHOOK_LISTEN_SECRET); provider: github, stripe, standard (svix), shopify, slack, generic', collectSecret)
  .option('--signature-header <name>', 'a header holding an HMAC-SHA256 of the body (hex or base64), checked with --secret')
  .option('--strict-order', 'deliver event N+1 only after event N succeeded or gave up, even when the app rejected N')
  .option('-H, --header <header>', 'add or replace a header on forwarded requests, "Name: value" (repeatable; never stored)', collectHeader)
  .addOption(insecureOption())
  .addOption(skipVerifyOption())
  .option('--no-resume', 'do not resume deliveries left pending by an earlier run')
  .option('--store <dir>', 'where events are kept (env WEBHOOK_LISTEN_HOME)')
  .option('--keep <n>', 'keep at least this many newest events in the store', parseCount, 10_000)
  .option('--no-tunnel', 'do not open a public tunnel; only this machine can reach the listener')
  .option('--tunnel-host <url>', 'the localtunnel server to use (a self-hosted one)', parseTunnelHost, DEFAULT_TUNNEL_HOST)
  .option('--subdomain <name>', 'ask the tunnel server for this name (default: the one kept in the store, so the URL stays the same)', parseSubdomain)
  .option('--new-url', 'pick a new random subdomain for the public URL (and keep it for later runs)')
  .option('--on-url <command>', 'shell command to run with WEBHOOK_LISTEN_URL set whenever the public URL is set or changes')
  .option('--inspect-port <port>', 'port of the local web inspector (default 4040, or the next free one)', parsePort)
  .option('--no-inspect', 'do not start the web inspector')
  .addOption(new Option('--no-color', 'no colours (also NO_COLOR=1)'))
  .addHelpText(
    'after',
    `
Examples:
  $ webhook-listen --forward-to 3000
  $ webhook-listen --forward-to http://localhost:3000/my/webhook/url --path /my/webhook/url
  $ webhook-listen --no-tunnel --passthrough -f 3000 --events newMessage
  $ webhook-listen --json | jq 'select(.type=="event") | .body.message.content'

Default port ${DEFAULT_PORT}. Events are kept in ${defaultStoreDir()}.`,
  )
  .action(async (opts: Record<string, unknown>) => {
    const envSecretProblem = env.WEBHOOK_LISTEN_SECRET ? secretProblem(env.WEBHOOK_LISTEN_SECRET) : undefined;
    if (envSecretProblem) program.error(`error: WEBHOOK_LISTEN_SECRET: ${envSecretProblem}`, { exitCode: 2 });
    const printer = makePrinter(opts as OutputFlags);
    const signals = stopOnSignals(printer);
    const { listen } = await import('./commands/listen.js');
    let session;
    try {
      session = await listen(
        {
          version: VERSION,
          port: (opts.port as number | undefined) ?? DEFAULT_PORT,
          portExplicit: opts.port !== undefined,
          host: opts.host as string,
          targets: [...new Set(((opts.forwardTo as { url: string }[] | undefined) ?? []).map((r) => r.url))],
          routes: routesOf((opts.forwardTo as { url: string; names?: string[] }[] | undefined) ?? []),
          secrets: [...((opts.secret as string[] | undefined) ?? []), ...(env.WEBHOOK_LISTEN_SECRET ? [env.WEBHOOK_LISTEN_SECRET] : [])].map(parseSecret),
          signatureHeader: opts.signatureHeader as string | undefined,
          path: opts.path as string | undefined,
          events: opts.events as string[] | undefined,
          passthrough: Boolean(opts.passthrough),
          maxBody: opts.maxBody as number,
          forwardTimeoutMs: opts.forwardTimeout as number,
          storeDir: (opts.store as string | undefined) ?? defaultStoreDir(),
          keep: opts.keep as number,
          retries: opts.retries as number,
          retryDelayMs: opts.retryDelay as number,
          strictOrder: Boolean(opts.strictOrder),
          insecure: insecureOf(opts),
          headers: (opts.header as [string, string][] | undefined) ?? [],
          resume: opts.resume !== false,
          tunnel:
            opts.tunnel === false
              ? false
              : {
                  host: opts.tunnelHost as string,
                  subdomain: opts.subdomain as string | undefined,
                  newUrl: Boolean(opts.newUrl),
                  // How often the public URL is checked end to end; tests set it shorter.
                  checkMs: Number(env.WEBHOOK_LISTEN_TUNNEL_CHECK_MS) || undefined,
                },
          onUrl: opts.onUrl as string | undefined,
          inspect:
            opts.inspect === false
              ? false
              : { port: (opts.inspectPort as number | undefined) ?? DEFAULT_INSPECT_PORT, explicit: opts.inspectPort !== undefined },
          env,
          stopping: signals.starting,
        },
        printer,
      );
    } catch (err) {
      fail(err, printer);
    }
    signals.attach(session);
  });

const storeOption = (): Option => new Option('--store <dir>', 'the event store (env WEBHOOK_LISTEN_HOME)');

program
  .command('events')
  .description('list stored events, newest first, with their last delivery status')
  .option('-n, --limit <n>', 'how many to list (0: all)', parseCount, 20)
  .option('--event <name>', 'only events with this name')
  .option('--grep <text>', 'only events whose summary, id or path contains this text')
  .option('--json', 'one JSON record per event (with its deliveries)')
  .option('--no-color', 'no colours')
  .addOption(storeOption())
  .addHelpText('after', '\nExamples:\n  $ webhook-listen events --limit 5 --event newMessage\n  $ webhook-listen events --grep "Chidi"')
  .action(async (opts: { limit: number; event?: string; grep?: string; store?: string } & OutputFlags) => {
    const io = commandIO(opts);
    const { listEvents } = await import('./commands/events.js');
    await runCommand(io, () => listEvents({ storeDir: storeOf(opts), limit: opts.limit, event: opts.event, grep: opts.grep }, io));
  });

program
  .command('show')
  .description('show one stored event as it was received')
  .argument('<id>', 'the event id, or any unique prefix of it')
  .option('--raw', 'write the exact body bytes to stdout (e.g. > payload.json)')
  .option('--headers', 'include the request headers (with --raw: the whole HTTP request)')
  .option('--json', 'the event as one JSON record')
  .option('--no-color', 'no colours')
  .addOption(storeOption())
  .addHelpText('after', '\nExamples:\n  $ webhook-listen show 01m88nnbk5\n  $ webhook-listen show 01m88nnbk5 --raw > payload.json')
  .action(async (id: string, opts: { raw?: boolean; headers?: boolean; store?: string } & OutputFlags) => {
    const io = commandIO(opts);
    const { showEvent } = await import('./commands/show.js');
    await runCommand(io, () => showEvent({ storeDir: storeOf(opts), id, raw: Boolean(opts.raw), headers: Boolean(opts.headers) }, io));
  });

program
  .command('replay')
  .description('send stored events again, byte for byte, with Webhook-Listen-Replay: 1')
  .argument('[ids...]', 'event ids or unique prefixes')
  .option('--last [n]', 'replay the newest n events (default 1; 0 for all)')
  .option('--to <url>', "send here instead of the event's original targets (repeatable)", collect)
  .addOption(forwardTimeout())
  .addOption(insecureOption())
  .addOption(skipVerifyOption())
  .option('--json', 'one JSON delivery record per line')
  .option('--no-color', 'no colours')
  .addOption(storeOption())
  .addHelpText('after', '\nExamples:\n  $ webhook-listen replay 01m88nnbk5\n  $ webhook-listen replay --last 3 --to 3000')
  .action(async (ids: string[], opts: { last?: string | true; to?: string[]; forwardTimeout: number; store?: string; insecure?: boolean; skipVerify?: boolean } & OutputFlags) => {
    const io = commandIO(opts);
    let last: number | undefined;
    if (opts.last !== undefined) {
      if (opts.last !== true && !/^\d+$/.test(opts.last))
        program.error(`error: --last takes a whole number of events (0 for all of them), not "${opts.last}"`, { exitCode: 2 });
      last = opts.last === true ? 1 : wholeCount(opts.last);
    }
    if (last === undefined && ids.length === 0) program.error('error: replay needs event ids or --last [n]', { exitCode: 2 });
    const { replayEvents } = await import('./commands/replay.js');
    await runCommand(io, () =>
      replayEvents({ storeDir: storeOf(opts), ids, last, to: opts.to ?? [], timeoutMs: opts.forwardTimeout, insecure: insecureOf(opts) }, io),
    );
  });

program
  .command('pending')
  .description('list deliveries still owed: per target, attempts, next try, last error')
  .argument('[ids...]', 'only these events (ids or unique prefixes)')
  .option('--target <url>', 'only deliveries to this target', parseTarget)
  .option('--json', 'one JSON record per delivery')
  .option('--no-color', 'no colours')
  .addOption(storeOption())
  .addHelpText('after', '\nExample:\n  $ webhook-listen pending --target http://localhost:3000/my/webhook/url')
  .action(async (ids: string[], opts: { target?: string; store?: string } & OutputFlags) => {
    const io = commandIO(opts);
    const { listPending } = await import('./commands/pending.js');
    await runCommand(io, () => listPending({ storeDir: storeOf(opts), ids, target: opts.target }, io));
  });

program
  .command('cancel')
  .description('give up on owed deliveries (a running listener drops them within a second)')
  .argument('[ids...]', 'event ids or unique prefixes')
  .option('--all', 'every owed delivery (with --target: every one to that target)')
  .option('--target <url>', 'only deliveries to this target', parseTarget)
  .option('--json', 'one JSON record per cancelled delivery')
  .option('--no-color', 'no colours')
  .addOption(storeOption())
  .addHelpText('after', '\nExamples:\n  $ webhook-listen cancel 01m88nnbk5\n  $ webhook-listen cancel --all --target 3000')
  .action(async (ids: string[], opts: { all?: boolean; target?: string; store?: string } & OutputFlags) => {
    const io = commandIO(opts);
    if (ids.length === 0 && !opts.all) program.error('error: cancel needs event ids or --all', { exitCode: 2 });
    const { cancelPending } = await import('./commands/pending.js');
    await runCommand(io, () => cancelPending({ storeDir: storeOf(opts), ids, all: Boolean(opts.all), target: opts.target }, io));
  });

program
  .command('retry')
  .description('try owed deliveries now instead of waiting for their next retry')
  .argument('<ids...>', 'event ids or unique prefixes')
  .option('--target <url>', 'only deliveries to this target', parseTarget)
  .option('--json', 'one JSON record per delivery')
  .option('--no-color', 'no colours')
  .addOption(storeOption())
  .addHelpText('after', '\nExample:\n  $ webhook-listen retry 01m88nnbk5')
  .action(async (ids: string[], opts: { target?: string; store?: string } & OutputFlags) => {
    const io = commandIO(opts);
    const { retryPending } = await import('./commands/pending.js');
    await runCommand(io, () => retryPending({ storeDir: storeOf(opts), ids, target: opts.target }, io));
  });

program
  .command('send')
  .description("send a realistic event of the inbox platform to your app, no platform needed")
  .argument('[kind]', 'newMessage (default), image, video, document, audio or agent — see --list', 'newMessage')
  .option('--to <url>', 'where to send it (repeatable); 3000 and localhost:3000/hook are shorthands', collect)
  .option('--data <file>', "send this file's bytes instead of a sample (- for stdin)")
  .option('--set <path=value>', 'set a field, e.g. message.contentType=IMAGE (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--list', 'list what can be sent')
  .addOption(forwardTimeout())
  .addOption(insecureOption())
  .addOption(skipVerifyOption())
  .option('--json', 'JSON records instead of lines')
  .option('-v, --verbose', 'print the whole body sent')
  .option('--no-color', 'no colours')
  .addHelpText(
    'after',
    '\nExamples:\n  $ webhook-listen send --to http://localhost:3000/my/webhook/url\n  $ webhook-listen send image --to 3000\n  $ webhook-listen send --to 3000 --set message.contentType=AUDIO --set message.sender.authUser=true',
  )
  .action(async (kind: string, opts: { to?: string[]; data?: string; set?: string[]; list?: boolean; forwardTimeout: number; insecure?: boolean; skipVerify?: boolean } & OutputFlags) => {
    const io = commandIO(opts);
    const { listSamples, sendSample } = await import('./commands/send.js');
    if (opts.list) return listSamples(io);
    const data = opts.data !== undefined ? await readData(opts.data).catch((err: Error) => fail(err, io.printer)) : undefined;
    await runCommand(io, () => sendSample({ kind, to: opts.to ?? [], data, sets: opts.set ?? [], timeoutMs: opts.forwardTimeout, insecure: insecureOf(opts) }, io));
  });

program
  .command('inspect')
  .description('open the web inspector over the stored events alone (no listener, no tunnel)')
  .option('-p, --port <port>', 'inspector port (default 4040, or the next free one)', parsePort)
  .option('--to <url>', 'where "replay" sends events that had no forward target (repeatable)', collect)
  .addOption(forwardTimeout())
  .option('--no-color', 'no colours')
  .addOption(storeOption())
  .addHelpText('after', '\nExample:\n  $ webhook-listen inspect --to http://localhost:3000/my/webhook/url')
  .action(async (opts: { port?: number; to?: string[]; forwardTimeout: number; store?: string } & OutputFlags) => {
    const printer = makePrinter(opts);
    const signals = stopOnSignals(printer);
    const { inspectStore } = await import('./commands/inspect.js');
    let session;
    try {
      session = await inspectStore(
        {
          storeDir: storeOf(opts),
          port: opts.port ?? DEFAULT_INSPECT_PORT,
          portExplicit: opts.port !== undefined,
          to: opts.to ?? [],
          timeoutMs: opts.forwardTimeout,
        },
        printer,
      );
    } catch (err) {
      fail(err, printer);
    }
    signals.attach(session);
  });

/** The command name closest to `word` (edit distance at most 2), for "did you mean". */
function closest(word: string, names: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  const best = names.map((n) => [n, distance(word, n)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= 2 ? best[0] : undefined;
}

/**
 * What a word given to the listener, which takes none, was probably meant as: a forward target typed the way
 * `ngrok http 3000` or `lt --port 3000` take one, or a `listen` command as `stripe listen` has.
 */
function strayHint(word: string): string | undefined {
  if (word === 'listen' || word === 'http') return 'the listener is webhook-listen itself, no command: webhook-listen --forward-to 3000';
  if (/^(\d{1,5}|:\d{1,5}|(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?)([/?]|$)/i.test(word) || /^https?:\/\//i.test(word))
    return `to forward events to your app, give it to --forward-to: webhook-listen --forward-to ${word}`;
  return undefined;
}

// `webhook-listen evnets` would otherwise be "too many arguments" to the listen command.
const first = process.argv[2];
const commands = program.commands.map((c) => c.name());
if (first === 'help') {
  program.outputHelp();
  process.exit(0);
}
if (first !== undefined && !first.startsWith('-') && !commands.includes(first)) {
  const hint = strayHint(first);
  const guess = hint ? undefined : closest(first, commands);
  process.stderr.write(`error: unknown command '${first}'${hint ? ` — ${hint}` : guess ? ` — did you mean '${guess}'?` : ''} (see webhook-listen --help)\n`);
  process.exit(2);
}
// The same word after options (`webhook-listen --no-tunnel 3000`) is commander's "too many arguments": said the same.
program.configureOutput({
  outputError(text, write) {
    const stray = /too many arguments/.test(text) ? program.args.find((a) => strayHint(a)) : undefined;
    write(stray ? `error: unexpected '${stray}' — ${strayHint(stray)}\n` : text);
  },
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  fail(err);
}
