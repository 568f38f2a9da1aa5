import { Command, Option } from 'commander';
import { DEFAULT_INSPECT_PORT, DEFAULT_PORT, DEFAULT_TUNNEL_HOST } from '../core/defaults.js';
import { parseSecret, secretProblem } from '../core/signature.js';
import { parseChannel } from '../relay/channel.js';
import type { ListenOptions } from '../listen/options.js';
import { collectHeader, collectRoute, collectSecret, forwardTimeout, insecureOf, insecureOption, parseCount, parseDuration, parseMaxBody, parseNames, parsePath, parsePort, parseSubdomain, parseTunnelHost, routesOf, skipVerifyOption, withDefault } from './options.js';
import { strayHint } from './did-you-mean.js';
import { keysWanted, listenToKeys } from './keys.js';
import { type OutputFlags, defaultStoreDir, makePrinter } from './output.js';
import { fail, stopOnSignals } from './signals.js';

const env = process.env;

/** The listener's flags as commander gives them (the root command's options). */
interface ListenFlags extends OutputFlags {
  port?: number;
  host: string;
  forwardTo?: { url: string; names?: string[] }[];
  path?: string;
  events?: string[];
  passthrough?: boolean;
  maxBody: number;
  forwardTimeout: number;
  retries: number;
  retryDelay: number;
  secret?: string[];
  signatureHeader?: string;
  strictOrder?: boolean;
  header?: [string, string][];
  insecure?: boolean;
  skipVerify?: boolean;
  resume: boolean;
  store?: string;
  keep: number;
  /** undefined unless --tunnel or --no-tunnel was given: then on, unless --relay. */
  tunnel?: boolean;
  relay?: string | true;
  tunnelHost: string;
  subdomain?: string;
  newUrl?: boolean;
  onUrl?: string;
  inspectPort?: number;
  inspect: boolean;
  /** Targets given as bare words (`webhook-listen 3000`): the banner says what they became. */
  shorthand?: string[];
}

/** The flags as the session takes them. */
export function listenOptionsOf(opts: ListenFlags, version: string, stopping: AbortSignal): ListenOptions {
  const secrets = [...(opts.secret ?? []), ...(env.WEBHOOK_LISTEN_SECRET ? [env.WEBHOOK_LISTEN_SECRET] : [])];
  return {
    version,
    port: opts.port ?? DEFAULT_PORT,
    portExplicit: opts.port !== undefined,
    host: opts.host,
    targets: [...new Set((opts.forwardTo ?? []).map((r) => r.url))],
    ...(opts.shorthand ? { shorthand: opts.shorthand } : {}),
    routes: routesOf(opts.forwardTo ?? []),
    secrets: secrets.map(parseSecret),
    signatureHeader: opts.signatureHeader,
    path: opts.path,
    events: opts.events,
    passthrough: Boolean(opts.passthrough),
    maxBody: opts.maxBody,
    // Shortened by tests that need node's header timeout to pass in seconds, not 20.
    headersTimeoutMs: Number(env.WEBHOOK_LISTEN_HEADERS_TIMEOUT_MS) || undefined,
    forwardTimeoutMs: opts.forwardTimeout,
    storeDir: opts.store ?? defaultStoreDir(),
    keep: opts.keep,
    retries: opts.retries,
    retryDelayMs: opts.retryDelay,
    strictOrder: Boolean(opts.strictOrder),
    insecure: insecureOf(opts),
    headers: opts.header ?? [],
    resume: opts.resume !== false,
    // How often the public URL is checked end to end; tests set it shorter.
    tunnel: opts.tunnel === false || (opts.relay !== undefined && opts.tunnel !== true) ? false : { host: opts.tunnelHost, subdomain: opts.subdomain, newUrl: Boolean(opts.newUrl), checkMs: Number(env.WEBHOOK_LISTEN_TUNNEL_CHECK_MS) || undefined },
    onUrl: opts.onUrl,
    ...(opts.relay !== undefined ? { relay: relayOf(opts.relay) } : {}),
    inspect: opts.inspect === false ? false : { port: opts.inspectPort ?? DEFAULT_INSPECT_PORT, explicit: opts.inspectPort !== undefined },
    env,
    stopping,
  };
}

/** --relay's channel (undefined: the one kept in the store); a stall time tests set shorter. */
function relayOf(relay: string | true): NonNullable<ListenOptions['relay']> {
  const stallMs = Number(env.WEBHOOK_LISTEN_RELAY_STALL_MS) || undefined;
  return { ...(relay === true ? {} : { channel: parseChannel(relay) }), ...(stallMs ? { stallMs } : {}) };
}

/**
 * `webhook-listen 3000` (as `ngrok http 3000` and `hookdeck listen 3000` are typed): the words are forward targets.
 * `http` or `listen` before them is taken as that habit too. Anything else is a usage error with a hint.
 */
function withShorthand(program: Command, apps: string[], opts: ListenFlags): ListenFlags {
  const words = apps.filter((w, i) => !(i === 0 && (w === 'http' || w === 'listen') && apps.length > 1));
  if (words.length === 0) return opts;
  const routes = [...(opts.forwardTo ?? [])];
  for (const word of words) {
    if (!strayHint(word)) program.error(`error: unexpected '${word}' — the listener takes flags (see webhook-listen --help), or your app's port or URL: webhook-listen 3000`, { exitCode: 2 });
    try {
      routes.push(...collectRoute(word));
    } catch (err) {
      program.error(`error: ${(err as Error).message}`, { exitCode: 2 });
    }
  }
  return { ...opts, forwardTo: routes, shorthand: words };
}

/** Runs the listener until ^C, SIGTERM or a closed output. */
async function runListener(program: Command, opts: ListenFlags, version: string): Promise<void> {
  const envSecretProblem = env.WEBHOOK_LISTEN_SECRET ? secretProblem(env.WEBHOOK_LISTEN_SECRET) : undefined;
  if (envSecretProblem) program.error(`error: WEBHOOK_LISTEN_SECRET: ${envSecretProblem}`, { exitCode: 2 });
  if (opts.relay !== undefined && opts.passthrough)
    program.error("error: --passthrough cannot be used with --relay: a relay answers the sender itself and cannot carry your app's answer back — drop one of them", { exitCode: 2 });
  if (typeof opts.relay === 'string') {
    try {
      parseChannel(opts.relay);
    } catch (err) {
      program.error(`error: ${(err as Error).message}`, { exitCode: 2 });
    }
  }
  const printer = makePrinter(opts);
  const signals = stopOnSignals(printer);
  const { listen } = await import('../listen/session.js');
  let session;
  const keys = keysWanted(Boolean(opts.json));
  try {
    session = await listen({ ...listenOptionsOf(opts, version, signals.starting), keys }, printer);
  } catch (err) {
    fail(err, printer);
  }
  signals.attach(session);
  if (keys) listenToKeys(session, printer);
}

/** The root command: the listener, with its flags (declarative; the parsers are in options.ts). */
export function defineListen(program: Command, version: string): void {
  program
    .name('webhook-listen')
    .description('Receive webhooks on your laptop: a public URL, a readable line per event, byte-exact forwarding to your app, and a history to replay.')
    .version(version, '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(run webhook-listen --help for usage)')
    .exitOverride()
    .option('-p, --port <port>', `listener port; if the default is busy the next free one is used`, parsePort)
    .option('--host <address>', 'address to bind the listener to', '127.0.0.1')
    .option('-f, --forward-to <[names=]url>', 'forward each event to your app (repeatable); 3000 and localhost:3000/hook are shorthands; check_run,push=URL takes only those events', collectRoute)
    .option('--path <path>', 'accept events only on this path; other paths get 404', parsePath)
    .option('--events <names>', 'show and forward only these event names (comma-separated); others are still stored', parseNames)
    .option('--passthrough', "answer the sender with the first target's real response instead of an immediate 200")
    .option('--json', 'print one JSON record per line (ready, event, delivery, tunnel, relay, ignored, refused, dropped) on stdout')
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
    .option('--relay [channel]', 'take events from a webhook relay channel (smee.io or gosmee; gosmee:URL to say which) instead of a tunnel; alone, the channel kept in the store (webhook-listen relay new makes one)')
    .option('--tunnel', 'open the public tunnel too, with --relay')
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
  $ webhook-listen 3000
  $ webhook-listen --forward-to 3000
  $ webhook-listen --forward-to http://localhost:3000/my/webhook/url --path /my/webhook/url
  $ webhook-listen --no-tunnel --passthrough -f 3000 --events newMessage
  $ webhook-listen --relay https://smee.io/AbCd1234 -f 3000
  $ webhook-listen --json | jq 'select(.type=="event") | .body.message.content'

Default port ${DEFAULT_PORT}. Events are kept in ${defaultStoreDir()}.`,
    )
    .argument('[app...]', 'your app, as -f takes it: `webhook-listen 3000` is `webhook-listen --forward-to 3000`')
    .action((apps: string[], opts: ListenFlags) => runListener(program, withShorthand(program, apps, opts), version));
}
