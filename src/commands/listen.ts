import { type DecodedBody, type DeliveryResult, type WebhookEvent, RecentIds, decodeBody, nameMatches } from '../event.js';
import { type Secret, verifySignature } from '../signature.js';
import { type Answer, ListenError, type ListenerHandle, startListener } from '../listener.js';
import { type ControlRequest, type EventDescription, type PendingJob, type StoreHandle, StoreError, openStore } from '../store/index.js';
import { createDeliverer } from '../delivery.js';
import { createDeliveryQueue } from '../delivery-queue.js';
import { type Summary, summarize } from '../format/summary.js';
import { describeEvent } from './history.js';
import type { Printer, ReadyInfo } from '../format/printer.js';
import type { TunnelHandle } from '../tunnel.js';
import { openTunnel } from './listen-tunnel.js';
import { RunError } from './errors.js';
import type { InspectorHandle } from '../inspector/server.js';

export interface ListenOptions {
  version: string;
  port: number;
  /** The user asked for this port: a busy one is an error instead of a step to the next. */
  portExplicit: boolean;
  host: string;
  targets: string[];
  path?: string;
  events?: string[];
  passthrough: boolean;
  maxBody: number;
  forwardTimeoutMs: number;
  storeDir: string;
  keep: number;
  retries: number;
  retryDelayMs: number;
  /** Event N+1 only after event N succeeded or gave up, even when the app rejected N (--strict-order). */
  strictOrder?: boolean;
  /** Accept self-signed certificates on https targets (--insecure). */
  insecure?: boolean;
  /** Headers added to (or replacing) those of every forwarded request (--header); never stored. */
  headers?: [string, string][];
  /** Event names a target takes (`--forward-to check_run=URL`); a target absent here takes every event. */
  routes?: Map<string, string[]>;
  /** Secrets to verify signatures with (--secret), and a generic signature header (--signature-header). */
  secrets?: Secret[];
  signatureHeader?: string;
  resume: boolean;
  /**
   * Off, or the localtunnel server to use; the name to ask for (else the one kept in the store, or a new one when
   * `newUrl`); how often to check that the public URL still reaches the listener.
   */
  tunnel: false | { host: string; subdomain?: string; newUrl?: boolean; checkMs?: number };
  onUrl?: string;
  /** Off, or the inspector's port (the next free one unless asked for explicitly). */
  inspect: false | { port: number; explicit: boolean };
  /** The environment handed to --on-url commands. */
  env: NodeJS.ProcessEnv;
  /** Aborted when the user stops the listener while it starts: the start stops waiting for the tunnel. */
  stopping?: AbortSignal;
}

export interface ListenSession {
  readonly listenUrl: string;
  /** Stops accepting, lets deliveries in flight finish (up to a few seconds), flushes the store. Idempotent. */
  shutdown(): Promise<void>;
}


const PORT_TRIES = 20;
/** How long the banner waits for the tunnel before it shows without a public URL. */
const TUNNEL_BANNER_WAIT_MS = 8000;
const DRAIN_MS = 3000;
/**
 * How long delivery results with no event to share a commit wait for more, and how many make it commit at once: a
 * backlog draining to the app committed once per delivery (npm run bench -- --only=tunnel: the drain after a flood).
 */
const RESULTS_WAIT_MS = 10;
const RESULTS_WAIT_MAX = 256;
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'trailer']);
/** How often requests from other terminals (cancel, retry) are read and the database file is checked. */
const KEEPER_MS = 1000;
/** Leases are renewed every this many keeper ticks (they last 10 s). */
const RENEW_EVERY = 3;
/** After this many events, a name given to --events that never came is pointed out, once. */
const EVENTS_HINT_AFTER = 100;
/** Ids this process gave out, to know its own events when they come back (a forward loop); bounded. */
const OWN_IDS_MAX = 50_000;
/** Ids looked up per request, over all its headers: a longer chain of hops than this is not a webhook's. */
const LOOP_IDS_MAX = 32;
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1', '0.0.0.0', '[::]']);

/** What the sender gets for an event that is recorded but refused. */
const REFUSED: Partial<Record<NonNullable<WebhookEvent['rejected']>, (o: ListenOptions) => Answer>> = {
  'too-large': (o) => ({ status: 413, body: `Payload too large: this listener takes bodies up to ${o.maxBody} bytes (raise --max-body)\n` }),
  'too-slow': () => ({ status: 408, body: 'Request timeout: the body arrived too slowly through the tunnel; send it again\n' }),
  loop: () => ({
    status: 508,
    body: 'Loop detected: this request carries an event id this webhook-listen gave out, so a --forward-to leads back to it; it was recorded, not forwarded\n',
  }),
};

/** The event carries an id this listener gave out, as the forwarded event's id or an earlier hop of it. */
function cameBack(event: WebhookEvent, own: RecentIds): boolean {
  let left = LOOP_IDS_MAX;
  for (const [k, v] of event.headers) {
    const lower = k.length === 23 || k.length === 18 ? k.toLowerCase() : '';
    if (lower === 'webhook-listen-event-id' || lower === 'webhook-listen-via')
      for (const id of v.split(',', left)) {
        if (own.has(id.trim())) return true;
        if (--left === 0) return false;
      }
  }
  return false;
}

/** A --forward-to that is this listener itself would send every event back to itself, for ever. */
function selfTarget(targets: string[], host: string, port: number): string | undefined {
  return targets.find((t) => {
    try {
      const u = new URL(t);
      const tp = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      return tp === port && (LOOPBACK_NAMES.has(u.hostname) || u.hostname === host || u.hostname.endsWith('.localhost'));
    } catch {
      return false;
    }
  });
}

async function bindListener(
  options: ListenOptions,
  onEvent: (e: WebhookEvent) => Promise<Answer> | Answer,
  printer: Printer,
  liveness: { path: string; answer: string },
): Promise<{ listener: ListenerHandle; portNote?: string }> {
  for (let i = 0; ; i++) {
    const port = options.port === 0 ? 0 : options.port + i;
    try {
      const listener = await startListener({
        port,
        host: options.host,
        path: options.path,
        maxBody: options.maxBody,
        tunnelEntry: options.tunnel !== false,
        liveness,
        // Bound to loopback, it answers only to loopback names (DNS rebinding); bound wider, to any.
        checkHost: ['127.0.0.1', '::1', 'localhost'].includes(options.host),
        onEvent,
        onIgnored: (info) => printer.ignored(info),
        onError: (err) => printer.error(`listener: ${err.message}`, err),
      });
      const portNote = i > 0 ? `port ${options.port} was busy, using ${listener.port}` : undefined;
      return { listener, portNote };
    } catch (err) {
      const busy = err instanceof ListenError && err.code === 'EADDRINUSE';
      if (!busy || options.portExplicit || options.port === 0 || i >= PORT_TRIES - 1 || port >= 65535)
        throw new RunError((err as Error).message, { cause: err });
    }
  }
}

export async function listen(options: ListenOptions, printer: Printer): Promise<ListenSession> {
  let store: StoreHandle;
  try {
    store = openStore(options.storeDir, { keep: options.keep, describe: describeEvent, warn: (m) => printer.warn(m) });
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
  const deliverer = createDeliverer({ timeoutMs: options.forwardTimeoutMs, insecure: options.insecure, headers: options.headers });
  // Said once per episode and kind of write: the first failure, then once that kind of write works again.
  const failing = new Set<string>();
  const record = (write: () => void, what: string): boolean => {
    try {
      write();
      if (failing.delete(what)) printer.info('the event store takes writes again');
      return true;
    } catch (err) {
      if (!failing.has(what)) printer.error(`${err instanceof StoreError ? err.message : String(err)} — ${what}`, err);
      failing.add(what);
      return false;
    }
  };
  // Group commit: the events read in one turn of the event loop, and the delivery results of that turn, are written
  // in one transaction, before any of those events is answered. Results with no event to share a commit wait up to
  // RESULTS_WAIT_MS for more (a backlog draining to the app commits once per delivery otherwise); an event that comes
  // meanwhile takes them along at once. (A result lost to a crash leaves its delivery pending, so it is sent again on
  // the next start.)
  let batch: { event: WebhookEvent; description: EventDescription; done: (saved: boolean) => void }[] = [];
  let results: DeliveryResult[] = [];
  let soon = false;
  let later: NodeJS.Timeout | undefined;
  const commit = (): void => {
    soon = false;
    if (later) clearTimeout(later);
    later = undefined;
    const items = batch;
    const attempts = results;
    batch = [];
    results = [];
    if (items.length === 0 && attempts.length === 0) return;
    const saved = record(
      () => store.appendEvents(items, attempts),
      items.length ? 'webhooks are answered 503 (the sender will retry) until it is fixed' : 'delivery results are not saved',
    );
    for (const b of items) b.done(saved);
  };
  // The first event of a turn sets off its commit, at the end of the turn; results alone, a little later.
  const scheduleEvent = (): void => {
    if (soon) return;
    soon = true;
    setImmediate(commit);
  };
  const scheduleResult = (): void => {
    if (soon) return;
    if (results.length >= RESULTS_WAIT_MAX) scheduleEvent();
    else later ??= setTimeout(commit, RESULTS_WAIT_MS);
  };
  const recordEvent = (event: WebhookEvent, description: EventDescription): Promise<boolean> =>
    new Promise((done) => {
      scheduleEvent();
      batch.push({ event, description, done });
    });
  const stats = { received: 0, filtered: 0, delivered: 0, failed: 0 };
  let inspector: InspectorHandle | undefined;
  const onResult = (result: DeliveryResult, event: WebhookEvent): void => {
    inspector?.publishDelivery(result);
    if (result.final) {
      if (result.status !== undefined && result.status < 300) stats.delivered++;
      else stats.failed++;
    }
    results.push(result);
    scheduleResult();
    printer.delivery(result, event);
  };
  const queue = createDeliveryQueue({
    deliverer,
    paused: true,
    strictOrder: options.strictOrder,
    onBack: (target, waiting) =>
      printer.info(`${target} answers again${waiting ? `: ${waiting} waiting ${waiting === 1 ? 'event flows' : 'events flow'} to it now` : ''}`),
    retries: options.retries,
    firstDelayMs: options.retryDelayMs,
    maxDelayMs: 30_000,
    onResult,
    // Deep in a queue, a job keeps only its event's id; its pending row keeps the event from being pruned.
    spill: {
      load: (at) => {
        const event = store.readEvent(at.id);
        if (!event) throw new Error('not in the store');
        return event;
      },
    },
    onLost: (target, at, err) => {
      stats.failed++;
      printer.warn(
        `event ${at.id}, waiting for ${target}, could not be read back from the store (${err.message}): it was deleted outside webhook-listen, so it is not delivered — replay it from another copy if you have one`,
      );
    },
  });
  // Names are matched case-insensitively; `check_run` also matches `check_run.created`.
  const wanted = options.events?.length ? new Set(options.events.map((n) => n.toLowerCase())) : undefined;
  const seenNames = new Set<string>();
  const isWanted = (name: string | null): boolean => {
    if (!wanted) return true;
    if (name && stats.received <= EVENTS_HINT_AFTER) seenNames.add(name.toLowerCase());
    return nameMatches(wanted, name);
  };
  // Targets bound to event names take only those; the others take every event.
  const routes = new Map([...(options.routes ?? [])].map(([t, names]) => [t, new Set(names.map((n) => n.toLowerCase()))]));
  const targetsFor = (name: string | null): string[] => options.targets.filter((t) => !routes.has(t) || nameMatches(routes.get(t)!, name));
  const verify = options.secrets?.length || options.signatureHeader ? { secrets: options.secrets ?? [], signatureHeader: options.signatureHeader } : undefined;
  const hintNames = (): void => {
    const never = options.events!.filter((n) => ![...seenNames].some((s) => nameMatches(new Set([n.toLowerCase()]), s)));
    if (never.length)
      printer.info(
        `--events ${never.join(', ')}: no such event in the first ${EVENTS_HINT_AFTER}; names seen: ${[...seenNames].slice(0, 8).join(', ') || 'none'}`,
      );
  };
  const [first, ...rest] = options.targets;

  const show = (event: WebhookEvent, summary: Summary, decoded: DecodedBody): void => {
    if (event.rejected === 'filtered') {
      stats.filtered++;
      return;
    }
    printer.event(event, summary, decoded);
    inspector?.publishEvent(event, summary);
  };

  const ownIds = new RecentIds(OWN_IDS_MAX);
  const onEvent = async (event: WebhookEvent): Promise<Answer> => {
    stats.received++;
    ownIds.add(event.id);
    if (!event.rejected && cameBack(event, ownIds)) event.rejected = 'loop';
    if (!event.rejected && !isWanted(event.name)) event.rejected = 'filtered';
    if (wanted && stats.received === EVENTS_HINT_AFTER) hintNames();
    const forward = !event.rejected;
    event.targets = forward ? targetsFor(event.name) : [];
    // One decode and one summary per event, shared by the store, the printer and the inspector.
    const decoded = decodeBody(event);
    const summary = summarize(event, decoded);
    // Checked at arrival and kept in the summary; it never changes what is stored, answered or forwarded.
    const signature = verify && verifySignature(event, verify);
    if (signature) summary.signature = signature;
    const description = describeEvent(event, summary);
    const at = { id: event.id };
    if (forward && options.passthrough && first && event.targets.includes(first)) {
      // The app starts on the request while the event is recorded and printed; the answer waits for both.
      const forwarded = deliverer.deliver(event, first, 1, { keepResponse: true });
      const saved = await recordEvent(event, description);
      show(event, summary, decoded);
      if (!saved) {
        void forwarded;
        return unsaved();
      }
      for (const t of rest) if (event.targets.includes(t)) queue.enqueue(event, t, 0, at);
      const { result, response } = await forwarded;
      onResult(result, event);
      if (!response)
        return {
          status: 502,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: `webhook-listen ${result.error === 'INCOMPLETE' ? 'got no complete answer from' : 'could not reach'} ${first}: ${result.message ?? result.error}\n`,
        };
      return {
        status: response.status,
        headers: response.headers.filter(([k]) => !HOP_BY_HOP_RESPONSE.has(k.toLowerCase())),
        body: response.body,
      };
    }
    // Recorded before anything answers the sender: a crash after the 200 cannot lose it.
    const saved = await recordEvent(event, description);
    show(event, summary, decoded);
    if (!saved) {
      // Never 200 for an event that is not kept: the sender will send it again.
      return unsaved();
    }
    const refused = event.rejected && REFUSED[event.rejected];
    if (refused) return refused(options);
    if (!forward) return ok(event);
    for (const t of event.targets) queue.enqueue(event, t, 0, at);
    return ok(event);
  };

  // A path only this process knows and an answer only it knows: the tunnel's end-to-end check asks for it through the
  // public URL, and another webhook-listen on this store asks for it to know whether this one is alive.
  const liveness = { path: `/_webhook-listen/liveness/${token(Boolean(options.tunnel))}`, answer: token(Boolean(options.tunnel)) };
  // Deliveries owed from earlier runs are queued before the listener binds, so they go out before new events; the
  // queue starts once the banner is out.
  const claim = (): number => {
    if (!options.resume || options.targets.length === 0) return 0;
    let jobs: PendingJob[] = [];
    record(() => (jobs = store.claimPending(options.targets)), 'pending deliveries cannot be resumed');
    for (const j of jobs) queue.enqueue(undefined, j.target, j.attempts, { id: j.eventId });
    return jobs.length;
  };
  // Deliveries still leased by a listener that died (SIGKILL, a crash) are freed at once when it no longer answers.
  if (options.resume) await expireDeadHolders(store, options.targets, liveness, printer);
  const resumed = claim();
  // The lease is renewed well within its 10 s; deliveries another listener gave back (or died holding) are taken
  // over; a database deleted or replaced by hand is noticed.
  let controlSeen = 0;
  record(() => (controlSeen = store.controlHead()), 'cancel and retry from other terminals are not seen');
  let ticks = 0;
  const keeper = setInterval(() => {
    // Claims are looked for only when some were given back (a listener stopped, or was found dead): the look reads
    // every owed delivery.
    let released = false;
    if (++ticks % RENEW_EVERY === 0) {
      record(() => store.renewLeases(), 'leases on pending deliveries cannot be renewed');
      record(() => (released = store.expireLapsed() > 0), 'deliveries of a listener that stopped cannot be taken over');
    }
    // `webhook-listen cancel` and `retry` (or the inspector) in another process: act on what this listener holds.
    let requests: ControlRequest[] = [];
    record(() => (requests = store.controlSince(controlSeen)), 'cancel and retry from other terminals are not seen');
    for (const r of requests) {
      controlSeen = r.seq;
      if (r.action === 'release') released = true;
      if (r.action === 'cancel' && queue.cancel(r.eventId, r.target)) printer.info(`cancelled: ${r.eventId.slice(0, 12)} → ${r.target ?? 'every target'}`);
      if (r.action === 'retry' && queue.retryNow(r.eventId, r.target)) printer.info(`retrying now: ${r.eventId.slice(0, 12)} → ${r.target ?? 'every target'}`);
    }
    const taken = released ? claim() : 0;
    if (taken) printer.info(`took over ${taken} pending ${taken === 1 ? 'delivery' : 'deliveries'} whose listener stopped`);
    try {
      const replaced = store.checkFile();
      if (replaced) printer.warn(replaced);
    } catch (err) {
      printer.error((err as Error).message, err);
    }
  }, KEEPER_MS);
  keeper.unref();

  let bound;
  try {
    bound = await bindListener(options, onEvent, printer, liveness);
  } catch (err) {
    clearInterval(keeper);
    store.releaseLeases();
    store.close();
    await deliverer.close();
    throw err;
  }
  const { listener, portNote } = bound;
  record(() => store.register({ url: `http://${loopbackFor(options.host)}:${listener.port}${liveness.path}`, answer: liveness.answer }), 'other listeners on this store cannot tell this one is alive');
  const loop = selfTarget(options.targets, options.host, listener.port);
  if (loop) {
    clearInterval(keeper);
    await listener.close();
    store.releaseLeases();
    store.close();
    await deliverer.close();
    throw new RunError(
      `--forward-to ${loop} is this listener itself (port ${listener.port}): every event would be sent back to it for ever — forward to your app's port instead (e.g. --forward-to 3000 with --port 7070)`,
    );
  }

  if (options.inspect) {
    const { startInspector } = await import('../inspector/server.js');
    const { sendAgain } = await import('./replay.js');
    try {
      inspector = await startInspector({
        port: options.inspect.port,
        portExplicit: options.inspect.explicit,
        store,
        defaultTargets: options.targets,
        listenUrl: listener.url,
        replay: (event, targets, edited) =>
          sendAgain(event, targets, edited, { deliverer, store, printer, onResult: (r) => inspector?.publishDelivery(r) }),
      });
    } catch (err) {
      await listener.close();
      store.close();
      await deliverer.close();
      throw new RunError((err as Error).message, { cause: err });
    }
  }

  const ready: ReadyInfo = {
    version: options.version,
    listenUrl: listener.url,
    targets: options.targets,
    ...(options.routes?.size ? { routes: Object.fromEntries(options.routes) } : {}),
    store: options.storeDir,
    passthrough: options.passthrough,
    tunnel: options.tunnel ? 'opening' : 'off',
  };
  if (inspector) ready.inspectorUrl = inspector.url;
  if (portNote) ready.portNote = portNote;
  if (options.events?.length) ready.events = options.events;
  let announced = false;
  let markAnnounced = (): void => {};
  const whenAnnounced = new Promise<void>((resolve) => (markAnnounced = resolve));
  const announce = (): void => {
    if (announced) return;
    announced = true;
    markAnnounced();
    printer.progress(null);
    printer.ready(ready);
    setImmediate(sizeHeapForALongRun);
  };

  let tunnel: TunnelHandle | undefined;
  if (options.tunnel && listener.tunnelSocket) {
    tunnel = await openTunnel(options, options.tunnel, { hand: listener.tunnelSocket, liveness }, printer, {
      announce: (publicUrl) => {
        if (announced) return false;
        if (publicUrl) {
          ready.publicUrl = publicUrl;
          ready.tunnel = 'open';
        } else ready.tunnel = 'offline';
        announce();
        if (publicUrl && options.targets.length > 0) setTimeout(() => deliverer.warm(), 0).unref();
        return true;
      },
      status: (status) => inspector?.publishTunnel(status),
    });
    if (!options.stopping?.aborted)
      await Promise.race([
        whenAnnounced,
        sleep(TUNNEL_BANNER_WAIT_MS),
        new Promise<void>((resolve) => options.stopping?.addEventListener('abort', () => resolve(), { once: true })),
      ]);
  }
  announce();

  if (resumed > 0)
    printer.info(`resuming ${resumed} pending ${resumed === 1 ? 'delivery' : 'deliveries'} from an earlier run (--no-resume skips them)`);
  queue.start();
  void probeTargets(options.targets, printer);

  let stopping: Promise<void> | undefined;
  return {
    listenUrl: listener.url,
    shutdown() {
      stopping ??= (async () => {
        tunnel?.close();
        await listener.close();
        await inspector?.close();
        clearInterval(keeper);
        await queue.close(DRAIN_MS);
        await deliverer.close();
        commit();
        // What is still owed is handed back at once, so the next start resumes it without waiting for a lease.
        record(() => store.releaseLeases(), 'pending deliveries stay claimed for 10 s');
        store.close();
        const pending = queue.pending();
        const parts = [`${stats.received} received`, `${stats.delivered} delivered`];
        if (stats.failed) parts.push(`${stats.failed} failed`);
        if (stats.filtered) parts.push(`${stats.filtered} filtered`);
        if (pending) parts.push(`${pending} still pending (delivered on the next start)`);
        printer.info(`stopped: ${parts.join(', ')}`);
        printer.flush();
      })();
      return stopping;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** One TCP connect to each target at start, so "your app is not running" is the first line, not the first retry. */
async function probeTargets(targets: string[], printer: Printer): Promise<void> {
  const { connect } = process.getBuiltinModule('node:net');
  for (const target of targets) {
    let u: URL;
    try {
      u = new URL(target);
    } catch {
      continue;
    }
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port, timeout: 1000 });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) printer.info(`nothing is listening on ${u.host} yet — events will wait for it`);
  }
}

/** A secret for the liveness path: from the CSPRNG when a tunnel publishes it (node:crypto is loaded then anyway). */
function token(strong: boolean): string {
  if (strong) return process.getBuiltinModule('node:crypto').randomBytes(12).toString('hex');
  return Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
}

/** Where this machine reaches a listener bound to `host`. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '::1') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Frees the pending deliveries of listeners that hold leases on them but no longer answer their liveness path. */
async function expireDeadHolders(store: StoreHandle, targets: string[], own: { path: string }, printer: Printer): Promise<void> {
  let holders: ReturnType<StoreHandle['holders']> = [];
  try {
    holders = store.holders(targets);
  } catch {
    return;
  }
  if (holders.length === 0) return;
  const { checkPublicUrl } = await import('../tunnel.js');
  for (const h of holders) {
    if (!h.probeUrl || !h.answer) continue;
    const path = h.probeUrl.slice(h.probeUrl.indexOf('/', h.probeUrl.indexOf('//') + 2));
    if (path === own.path) continue;
    const failed = await checkPublicUrl(h.probeUrl, '', { path, answer: h.answer, everyMs: 0, timeoutMs: 1000 });
    if (failed) {
      store.expire(h.owner);
      printer.info('an earlier listener on this store stopped without handing back its deliveries: resuming them now');
    }
  }
}

function unsaved(): Answer {
  return {
    status: 503,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' },
    body: 'webhook-listen could not store this event (see its terminal); send it again in a few seconds\n',
  };
}

function ok(event: WebhookEvent): Answer {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    // Ids are Crockford base-32: nothing to escape.
    body: `{"ok":true,"id":"${event.id}"}\n`,
  };
}

/**
 * A listener that runs all day in a corner of the screen should stay small. V8 sizes its heap for throughput: the
 * young generation doubles up to 16 MB per semi-space and the old one grows up to 4x its live size, which gave
 * 150 MB of RSS for a 13 MB live heap (BENCHMARKS.md). The old generation's factor is read at every GC, so setting it
 * once the listener is up takes effect (and keeps node:v8 off the start-up path). The young generation may grow to
 * 4 MB per semi-space and no further: pinned at its first 1 MB it was collected every ~100 events, and each collection
 * walks all the roots (4 % of an event's instructions, BENCHMARKS.md); at 4 MB that cost is a quarter. V8 reads its
 * growth factor at every collection but its size limit only at start-up, so the factor is switched off once the
 * young generation has reached the cap (and on again if V8 shrinks it while idle), after each collection. Given to
 * node itself (`node --max-semi-space-size=… bin/webhook-listen.js`), the user's own values win.
 */
function sizeHeapForALongRun(): void {
  const v8 = process.getBuiltinModule('node:v8');
  const own = process.execArgv.join(' ');
  if (!own.includes('heap-growing-percent')) v8.setFlagsFromString('--heap-growing-percent=30');
  if (own.includes('semi-space')) return;
  let factor = 0;
  const steer = (): void => {
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    const next = young && young.space_size >= YOUNG_GENERATION_CAP ? 1 : 2;
    if (next === factor) return;
    factor = next;
    v8.setFlagsFromString(`--semi-space-growth-factor=${next}`);
  };
  steer();
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  new PerformanceObserver(steer).observe({ entryTypes: ['gc'] });
}

/** Both semi-spaces of the young generation, as `new_space` counts them: 4 MB each. */
const YOUNG_GENERATION_CAP = 8 * 1024 * 1024;
