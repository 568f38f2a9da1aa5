import { RunError } from '../core/errors.js';
import { describeEvent } from '../format/describe.js';
import type { Printer, ReadyInfo } from '../format/printer.js';
import { type Deliverer, createDeliverer } from '../forward/deliver.js';
import { DeliveryQueue } from '../forward/queue.js';
import type { ListenerHandle } from '../http/listener.js';
import type { InspectorHandle } from '../inspector/server.js';
import { type StoreHandle, StoreError, openStore } from '../store/index.js';
import { bindListener, loopbackFor, selfTarget, token } from './bind.js';
import { CleanupStack } from './cleanup.js';
import { GroupCommit, StoreWrites } from './group-commit.js';
import { Keeper } from './keeper.js';
import { replayLast } from './actions.js';
import { startRelay } from './relay-lines.js';
import type { Channel } from '../relay/channel.js';
import type { ListenOptions, ListenSession } from './options.js';
import { expireDeadHolders, probeTargets } from './peers.js';
import { Pipeline } from './pipeline.js';
import { Banner } from './banner.js';

export type { ListenOptions, ListenSession } from './options.js';

/** How long deliveries in flight may take to finish at stop. */
const DRAIN_MS = 3000;

/** The parts of a running session, made in order by the steps of listen(); each is closed by the cleanup stack. */
interface Parts {
  store: StoreHandle;
  writes: StoreWrites;
  deliverer: Deliverer;
  commit: GroupCommit;
  queue: DeliveryQueue;
  pipeline: Pipeline;
  keeper: Keeper;
  liveness: { path: string; answer: string };
  /** Deliveries the store owes to our targets, counted just before it closes. */
  owed: { count: number | undefined };
}

/** Step 1: the store, the forwarding client, the group commit, the queue and the pipeline that joins them. */
function openParts(options: ListenOptions, printer: Printer, cleanup: CleanupStack): Parts {
  let store: StoreHandle;
  try {
    // A lock held by another process (sqlite3, a backup) makes a commit wait on the event loop: a quarter of a second,
    // then the events of that commit are answered 503 and their senders send them again. Listeners on one store hold
    // the lock for milliseconds at a time.
    store = openStore(options.storeDir, { keep: options.keep, describe: describeEvent, warn: (m) => printer.warn(m), busyTimeoutMs: 250 });
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
  cleanup.push('store', () => store.close());
  if (options.relay) options.relay.channel = relayChannel(options.relay.channel, store, options.storeDir);
  const writes = new StoreWrites(store, printer);
  // What the store owes at the end, said in the stop line: the store's word, not the queue's (another listener, a
  // cancel or a store replaced by hand may have settled what this one still had queued).
  const owed = { count: undefined as number | undefined };
  cleanup.push('owed', () => writes.record(() => (owed.count = store.countPending(options.targets)), 'what is still owed cannot be counted'));
  // What is still owed is handed back at once, so the next start resumes it without waiting for a lease.
  cleanup.push('leases', () => writes.record(() => store.releaseLeases(), 'pending deliveries stay claimed for 10 s'));
  const commit = new GroupCommit(writes);
  cleanup.push('commit', () => commit.commit());
  const deliverer = createDeliverer({ timeoutMs: options.forwardTimeoutMs, insecure: options.insecure, headers: options.headers });
  cleanup.push('deliverer', () => deliverer.close());
  let pipeline: Pipeline | undefined;
  let keeper: Keeper | undefined;
  const queue = new DeliveryQueue({
    deliverer,
    paused: true,
    strictOrder: options.strictOrder,
    retries: options.retries,
    firstDelayMs: options.retryDelayMs,
    maxDelayMs: 30_000,
    onResult: (result, event) => pipeline!.result(result, event),
    // Checked before each attempt: cheap while the lease is surely live, a renewal after a pause.
    mayDeliver: () => {
      try {
        return store.claimsHeld();
      } catch {
        return true;
      }
    },
    claimsLost: () => keeper?.claimsLost(),
    onBack: (target, waiting) =>
      printer.info(`${target} answers again${waiting ? `: ${waiting} waiting ${waiting === 1 ? 'event flows' : 'events flow'} to it now` : ''}`),
    // Deep in a queue, a job keeps only its event's id; its pending row keeps the event from being pruned.
    spill: {
      load: (at) => {
        const event = store.readEvent(at.id);
        if (!event) throw new Error('not in the store');
        return event;
      },
    },
    onLost: (target, at, err) => {
      pipeline!.stats.failed++;
      // Gone (deleted by hand, the file replaced), or there but unreadable (a damaged page): said as what it is.
      const why = err instanceof StoreError ? `the store could not read it: ${err.message}` : 'it was deleted outside webhook-listen';
      printer.warn(`event ${at.id}, waiting for ${target}, could not be read back from the store (${why}), so it is not delivered — replay it from another copy if you have one`);
    },
  });
  cleanup.push('queue', () => queue.close(DRAIN_MS));
  pipeline = new Pipeline(options, { commit, queue, deliverer, printer });
  // A path only this process knows and an answer only it knows: the tunnel's end-to-end check asks for it through the
  // public URL, and another webhook-listen on this store asks for it to know whether this one is alive.
  const liveness = { path: `/_webhook-listen/liveness/${token(Boolean(options.tunnel))}`, answer: token(Boolean(options.tunnel)) };
  keeper = new Keeper(writes, queue, printer, { resume: options.resume, targets: options.targets });
  return { store, writes, deliverer, commit, queue, pipeline, keeper, liveness, owed };
}

/** The channel given (kept for a bare --relay next time), or the one kept in the store. */
function relayChannel(given: Channel | undefined, store: StoreHandle, dir: string): Channel {
  try {
    if (given) {
      store.keepRelayChannel(given.url, given.kind ?? '');
      return given;
    }
    const kept = store.keptRelayChannel();
    if (kept) return { url: kept.channel, ...(kept.relay === 'smee' || kept.relay === 'gosmee' ? { kind: kept.relay } : {}) };
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
  throw new RunError(`no relay channel is kept in ${dir} — pass one: --relay https://smee.io/<channel>, or make one: webhook-listen relay new`);
}

/** Step 2: deliveries owed from earlier runs, queued before the listener binds so they go out before new events. */
async function resumeOwed(options: ListenOptions, p: Parts, printer: Printer, cleanup: CleanupStack): Promise<number> {
  // Deliveries still leased by a listener that died (SIGKILL, a crash) are freed at once when it no longer answers.
  if (options.resume) await expireDeadHolders(p.store, options.targets, p.liveness, printer);
  const resumed = p.keeper.claim();
  const keeping = p.keeper.start();
  cleanup.push('keeper', () => keeping.close());
  return resumed;
}

/** Step 3: the local port, registered for other listeners' liveness checks; a --forward-to back to it is refused. */
async function bind(options: ListenOptions, p: Parts, printer: Printer, cleanup: CleanupStack): Promise<{ listener: ListenerHandle; portNote?: string }> {
  const bound = await bindListener(options, p.pipeline.accept, printer, p.liveness);
  const { listener } = bound;
  cleanup.push('listener', () => listener.close());
  const probe = { url: `http://${loopbackFor(options.host)}:${listener.port}${p.liveness.path}`, answer: p.liveness.answer };
  p.writes.record(() => p.store.register(probe), 'other listeners on this store cannot tell this one is alive');
  const loop = selfTarget(options.targets, options.host, listener.port);
  if (loop)
    throw new RunError(
      `--forward-to ${loop} is this listener itself (port ${listener.port}): every event would be sent back to it for ever — forward to your app's port instead (e.g. --forward-to 3000 with --port 7070)`,
    );
  return bound;
}

/** Step 4: the web inspector, loaded only when wanted. */
async function startInspector(options: ListenOptions, p: Parts, listener: ListenerHandle, printer: Printer, cleanup: CleanupStack): Promise<InspectorHandle | undefined> {
  if (!options.inspect) return undefined;
  const { startInspector: start } = await import('../inspector/server.js');
  const { sendAgain } = await import('../forward/replay.js');
  let inspector: InspectorHandle;
  try {
    inspector = await start({
      port: options.inspect.port,
      portExplicit: options.inspect.explicit,
      store: p.store,
      defaultTargets: options.targets,
      listenUrl: listener.url,
      replay: (event, targets, edited) =>
        sendAgain(event, targets, edited, {
          deliverer: p.deliverer,
          record: (r) => p.store.appendDelivery(r),
          onResult: (r, e) => {
            printer.delivery(r, e);
            inspector.publishDelivery(r);
          },
          warn: (m) => printer.warn(m),
        }),
    });
  } catch (err) {
    throw new RunError((err as Error).message, { cause: err });
  }
  cleanup.push('inspector', () => inspector.close());
  p.pipeline.inspector = inspector;
  return inspector;
}

/** Starts a listening session: every part opened in named steps, all closed by one cleanup stack on every path. */
export async function listen(options: ListenOptions, printer: Printer): Promise<ListenSession> {
  const cleanup = new CleanupStack();
  const fail = async (err: unknown): Promise<never> => {
    await cleanup.run();
    throw err;
  };
  let p: Parts;
  try {
    p = openParts(options, printer, cleanup);
  } catch (err) {
    return fail(err);
  }
  let listener: ListenerHandle;
  const ready: ReadyInfo = readyInfo(options);
  try {
    const resumed = await resumeOwed(options, p, printer, cleanup);
    const bound = await bind(options, p, printer, cleanup);
    listener = bound.listener;
    ready.listenUrl = listener.url;
    if (bound.portNote) ready.portNote = bound.portNote;
    const inspector = await startInspector(options, p, listener, printer, cleanup);
    if (inspector) ready.inspectorUrl = inspector.url;
    await new Banner(options, ready, printer, p.deliverer).show(listener, p.liveness, inspector, cleanup);
    if (options.relay) {
      const relay = startRelay({ ...options.relay, channel: options.relay.channel! }, options.maxBody, { store: p.store, accept: p.pipeline.accept }, printer);
      cleanup.push('relay', () => relay.close());
    }
    if (resumed > 0) printer.info(`resuming ${resumed} pending ${resumed === 1 ? 'delivery' : 'deliveries'} from an earlier run (--no-resume skips them)`);
  } catch (err) {
    return fail(err);
  }
  p.queue.start();
  void probeTargets(options.targets, printer);
  return session(listener.url, p, printer, cleanup, options);
}

function readyInfo(options: ListenOptions): ReadyInfo {
  const ready: ReadyInfo = {
    version: options.version,
    listenUrl: '',
    targets: options.targets,
    ...(options.routes?.size ? { routes: Object.fromEntries(options.routes) } : {}),
    store: options.storeDir,
    passthrough: options.passthrough,
    tunnel: options.tunnel ? 'opening' : 'off',
  };
  const channel = options.relay?.channel;
  if (channel) ready.relay = { channel: channel.url, ...(channel.kind ? { kind: channel.kind } : {}) };
  if (options.events?.length) ready.events = options.events;
  if (options.shorthand?.length) ready.shorthand = options.shorthand;
  if (options.keys) ready.keys = true;
  return ready;
}

function session(listenUrl: string, p: Parts, printer: Printer, cleanup: CleanupStack, options: ListenOptions): ListenSession {
  let stopping: Promise<void> | undefined;
  return {
    listenUrl,
    inspectorUrl: p.pipeline.inspector?.url,
    replayLast: () => replayLast({ store: p.store, deliverer: p.deliverer, targets: options.targets, printer, inspector: p.pipeline.inspector }),
    shutdown() {
      stopping ??= (async () => {
        await cleanup.run((name, err) => printer.error(`while stopping (${name}): ${(err as Error).message}`, err));
        const { stats } = p.pipeline;
        const pending = p.owed.count ?? p.queue.pending();
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
