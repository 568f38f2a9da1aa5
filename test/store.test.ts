import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type Cli, run, runCli, startListening, tempDir } from './helpers/cli.js';
import { startApp, type RecordingApp } from './helpers/app.js';
import { postJson } from './helpers/http.js';
import { freePort } from './helpers/net.js';
import { numberedEvent, pendingRows, query } from './helpers/store.js';
import { waitFor } from './helpers/wait.js';
import { describeEvent } from '../src/format/describe.js';
import { openStore } from '../src/store/index.js';
import { OverwriteWatch } from '../src/store/overwrite.js';


/** The app's port, reserved while it is down; the app is started on it later. */
async function appLater(t: TestContext): Promise<{ target: string; up(): Promise<RecordingApp> }> {
  const port = await freePort();
  let app: RecordingApp | undefined;
  t.after(() => app?.close());
  return { target: `http://127.0.0.1:${port}/hook`, up: async () => (app = await startApp(port)) };
}

const seqsOf = (app: RecordingApp): number[] => app.received.map((r) => JSON.parse(r.body.toString()).seq as number);

async function listen(args: string[], store: string, wrapper: string[] = []): Promise<{ cli: Cli; url: string }> {
  const cli = runCli(['--json', '--no-tunnel', '--no-inspect', '--port', '0', '--store', store, ...args], {}, wrapper);
  const ready = await cli.waitForRecord((r) => r.type === 'ready', 'the ready record');
  return { cli, url: ready.listenUrl as string };
}

const canUnshare = ((): boolean => {
  try {
    execFileSync('unshare', ['-pf', '--mount-proc', '--kill-child', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test(
  'restarted as the same PID (PID 1 in a container): pending deliveries are resumed',
  { skip: !canUnshare && 'unshare -pf --mount-proc is not allowed here: the container case is not tested' },
  async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const app = await appLater(t);
    const pid1 = ['unshare', '-pf', '--mount-proc', '--kill-child'];
    const first = await listen(['-f', app.target, '--retry-delay', '30s'], dir, pid1);
    for (let i = 0; i < 50; i++) assert.equal((await postJson(first.url, numberedEvent(i))).status, 200);
    await first.cli.stop('SIGKILL');
    const second = await listen(['-f', app.target], dir, pid1);
    t.after(() => second.cli.stop('SIGKILL'));
    await second.cli.waitForOutput(/resuming 50 pending deliveries/, 10_000, 'stderr');
    const up = await app.up();
    await up.waitForCount(50, 20_000);
    assert.deepEqual(seqsOf(up), [...Array(50).keys()], 'all 50, in order, once');
  },
);

test('--keep smaller than a backlog, then SIGKILL and a restart: nothing owed is pruned, all delivered once, in order; pruned once settled', { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const app = await appLater(t);
  const first = await listen(['-f', app.target, '--keep', '100', '--retry-delay', '30s'], dir);
  for (let i = 0; i < 300; i++) assert.equal((await postJson(first.url, numberedEvent(i))).status, 200);
  await first.cli.stop('SIGKILL');
  const second = await listen(['-f', app.target, '--keep', '100'], dir);
  t.after(() => second.cli.stop('SIGKILL'));
  await second.cli.waitForOutput(/resuming 300 pending deliveries/, 10_000, 'stderr');
  // Prunes (every 10 events at --keep 100) while all of it is still owed: they must keep it.
  for (let i = 300; i < 330; i++) assert.equal((await postJson(second.url, numberedEvent(i))).status, 200);
  const up = await app.up();
  await up.waitForCount(330, 30_000);
  assert.deepEqual(seqsOf(up), [...Array(330).keys()]);
  await waitFor(() => pendingRows(dir).length === 0, 'every pending row settled');
  // Settled now, the old ones go with their deliveries and texts: the 300 were looked at while owed, and each prune
  // looks again at a slice of the old ones kept that way.
  for (let i = 330; i < 560; i++) assert.equal((await postJson(second.url, numberedEvent(i))).status, 200);
  await up.waitForCount(560, 30_000);
  await waitFor(() => pendingRows(dir).length === 0, 'the new ones settled too');
  const count = (sql: string): number => query<{ n: number }>(dir, sql)[0]!.n;
  const events = count('SELECT count(*) AS n FROM events');
  assert.ok(events <= 100 + 10 + 10, `${events} events kept with --keep 100 (prunes every 10)`);
  assert.equal(count('SELECT count(*) AS n FROM events_text'), events, 'a search text per kept event, no more');
  assert.equal(count('SELECT count(*) AS n FROM deliveries WHERE event_id NOT IN (SELECT id FROM events)'), 0, 'no delivery of a pruned event');
});

test('two listeners on one store with a backlog and a small --keep: each event delivered exactly once', { timeout: 90_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const app = await appLater(t);
  const args = ['-f', app.target, '--keep', '100', '--retry-delay', '200ms'];
  const a = await listen(args, dir);
  const b = await listen(args, dir);
  t.after(async () => {
    await a.cli.stop('SIGKILL');
    await b.cli.stop('SIGKILL');
  });
  // More than a queue keeps in memory (1,000 per target) on each listener, so most wait in the store only.
  const total = 2400;
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      assert.equal((await postJson((i % 2 ? b : a).url, numberedEvent(i))).status, 200);
    }
  };
  await Promise.all(Array.from({ length: 8 }, sender));
  const up = await app.up();
  await up.waitForCount(total, 40_000);
  // Both stopped cleanly: a delivery still in flight anywhere has landed, nothing more can come.
  assert.deepEqual(await Promise.all([a.cli.stop('SIGINT'), b.cli.stop('SIGINT')]), [0, 0]);
  const got = seqsOf(up);
  assert.equal(got.length, total, 'no duplicates');
  assert.deepEqual([...got].sort((x, y) => x - y), [...Array(total).keys()], 'none lost');
});

test('a running listener takes over what another one owed: at once when it stops, within its lease when it is killed; none twice', { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const app = await appLater(t);
  const args = ['-f', app.target, '--retry-delay', '30s'];
  const a = await listen(args, dir);
  const b = await listen(['-f', app.target, '--retry-delay', '1s'], dir);
  t.after(async () => {
    await a.cli.stop('SIGKILL');
    await b.cli.stop('SIGKILL');
  });
  for (let i = 0; i < 40; i++) assert.equal((await postJson(a.url, numberedEvent(i))).status, 200);
  // A stops cleanly and gives its claims back: B is told through the store (it looks every second).
  await a.cli.stop('SIGINT');
  await b.cli.waitForOutput(/took over 40 pending deliveries/, 5_000, 'stderr');
  // C takes events, then is killed: nothing is given back, its lease lapses (10 s), B takes them.
  const c = await listen(args, dir);
  t.after(() => c.cli.stop('SIGKILL'));
  for (let i = 40; i < 70; i++) assert.equal((await postJson(c.url, numberedEvent(i))).status, 200);
  await c.cli.stop('SIGKILL');
  await b.cli.waitForOutput(/took over 30 pending deliveries/, 20_000, 'stderr');
  const up = await app.up();
  await up.waitForCount(70, 40_000);
  assert.equal(await b.cli.stop('SIGINT'), 0);
  const got = seqsOf(up);
  assert.equal(got.length, 70, 'none twice');
  assert.deepEqual([...got].sort((x, y) => x - y), [...Array(70).keys()], 'none lost');
  await waitFor(() => pendingRows(dir).length === 0, 'every pending row settled');
});

test('a store of schema 1 is brought to the current schema at start (pending_by_target dropped, relay tables made); what it owed is still delivered', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const app = await appLater(t);
  const first = await listen(['-f', app.target, '--retry-delay', '30s'], dir);
  for (let i = 0; i < 3; i++) assert.equal((await postJson(first.url, numberedEvent(i))).status, 200);
  await first.cli.stop('SIGINT');
  // Back to what schema 1 was: the index, no relay tables, and the version.
  const db = new DatabaseSync(join(dir, 'events.db'));
  db.exec('DROP TABLE relay_events; DROP TABLE relay_channels; CREATE INDEX pending_by_target ON pending (target, event_seq); PRAGMA user_version = 1');
  db.close();
  const up = await app.up();
  const second = await listen(['-f', app.target], dir);
  t.after(() => second.cli.stop('SIGKILL'));
  await up.waitForCount(3, 10_000);
  assert.deepEqual(seqsOf(up), [0, 1, 2]);
  assert.equal(query<{ user_version: number }>(dir, 'PRAGMA user_version')[0]!.user_version, 3);
  assert.equal(query(dir, "SELECT name FROM sqlite_master WHERE name = 'relay_events'").length, 1);
  assert.deepEqual(query(dir, "SELECT name FROM sqlite_master WHERE name = 'pending_by_target'"), []);
});

test('a damaged page is reported by SQLite with what to do; events on intact pages are still read', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const wl = await startListening(['--no-inspect'], { store: dir });
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    // Event 20 is large, with a marker every kilobyte; the others are small.
    const chunks = i === 20 ? Array.from({ length: 200 }, (_, k) => `Q020-${String(k).padStart(4, '0')}${'y'.repeat(990)}`) : [];
    const body = Buffer.from(JSON.stringify({ event: 'big', seq: i, chunks }));
    ids.push(JSON.parse((await postJson(wl.url, body)).text).id);
  }
  await wl.cli.stop('SIGINT');
  const file = join(dir, 'events.db');
  const bytes = readFileSync(file);
  const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
  // Deep inside event 20's body (past anything a summary keeps) lies an overflow page that starts with the number
  // of the next one: make it point past the end of the file.
  const at = bytes.indexOf('Q020-0100');
  assert.ok(at > 0 && bytes.indexOf('Q020-0100', at + 1) === -1, 'the marker is found once');
  const page = Math.floor(at / pageSize) * pageSize;
  assert.notEqual(bytes.readUInt32BE(page), 0, 'a page in the middle of the chain');
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from([0x7f, 0xff, 0xff, 0xff]), 0, 4, page);
  closeSync(fd);

  const damaged = await run(['show', ids[20]!, '--raw', '--store', dir]);
  assert.equal(damaged.code, 1);
  assert.match(damaged.stderr, /event store .*events\.db is damaged \(.*malformed.*\) — stop webhook-listen and run `webhook-listen store recover --store /);
  const intact = await run(['show', ids[35]!, '--raw', '--store', dir]);
  assert.equal(intact.code, 0, intact.stderr);
  assert.equal(JSON.parse(intact.stdout).seq, 35);
  const list = await run(['events', '--store', dir, '--limit', '0']);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout.trim().split('\n').length, 40, 'the list needs no body, so it is whole');
});

test('the store folder is 0700 and the database 0600; a store readable by others is warned about; no experimental warning', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const store = join(dir, 'new');
  const wl = await startListening([], { store });
  await postJson(wl.url, numberedEvent(1));
  await wl.cli.stop('SIGINT');
  assert.equal(statSync(store).mode & 0o777, 0o700);
  assert.equal(statSync(join(store, 'events.db')).mode & 0o777, 0o600);
  assert.doesNotMatch(wl.cli.stderr, /ExperimentalWarning|experimental/i);
  chmodSync(store, 0o755);
  const open = await run(['events', '--store', store]);
  assert.equal(open.code, 0);
  assert.match(open.stderr, /warning: the event store .* can be read by other users of this machine .* chmod 700 it/);
  assert.doesNotMatch(open.stderr, /ExperimentalWarning/);
});

test('the store stays the same size at a steady --keep (freed pages are reused), and gives space back after --keep is lowered', { timeout: 90_000 }, async (t) => {
  const { dir: store, cleanup } = tempDir();
  t.after(cleanup);
  const size = (): number => statSync(join(store, 'events.db')).size;
  /** One listener run with this --keep: events numbered from..from+count-1, then a clean stop (the WAL is folded into the file). */
  const runWith = async (keep: number, from: number, count: number): Promise<void> => {
    const { cli, url } = await listen(['--keep', String(keep)], store);
    for (let i = from; i < from + count; i++) assert.equal((await postJson(url, Buffer.concat([numberedEvent(i), Buffer.alloc(1500, 0x20)]))).status, 200);
    await cli.stop();
  };
  // Steady state: 40 kept, 400 then 400 more sent.
  await runWith(40, 0, 400);
  const steady = size();
  await runWith(40, 400, 400);
  assert.ok(size() <= steady * 1.2, `a store at a steady --keep grew from ${steady} to ${size()} bytes`);

  // A big store, then --keep lowered: the next prune deletes most of it and the file shrinks.
  await runWith(5000, 800, 1500);
  const big = size();
  await runWith(10, 2300, 30);
  assert.ok(size() < big / 3, `after --keep 10 the store is still ${size()} bytes (was ${big})`);
  const { stdout } = await run(['events', '--store', store, '--json', '-n', '0']);
  assert.equal(stdout.trim().split('\n').length, 10, 'ten events kept');
});

/** strace, when it is installed and may trace here (ptrace can be forbidden in a container). */
const canStrace = ((): boolean => {
  try {
    execFileSync('strace', ['-o', '/dev/null', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** strace leaves its tracee running when it is stopped: stop the listener itself (strace's child, read from /proc). */
async function stopTraced(cli: Cli): Promise<void> {
  try {
    const pid = cli.child.pid!;
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean)) process.kill(Number(child), 'SIGKILL');
  } catch {
    // Already gone.
  }
  await cli.stop('SIGKILL');
}

test('each commit is on the disk before its events are answered: one sync of the WAL per webhook sent one at a time', { skip: !canStrace && 'no strace' }, async (t) => {
  // With synchronous=NORMAL (before) a commit in WAL mode was not synced: a 200 could precede the data reaching the
  // disk, and a power cut or a filesystem turned read-only lost events already answered (issue 25, item 4).
  const { dir, cleanup } = tempDir();
  const log = join(dir, 'strace.log');
  const cli = runCli(['--no-tunnel', '--no-inspect', '--port', '0', '--store', join(dir, 'store')], {}, ['strace', '-f', '-y', '-o', log, '-e', 'trace=fsync,fdatasync']);
  t.after(async () => {
    await stopTraced(cli);
    cleanup();
  });
  const m = await cli.waitForOutput(/Listening\s+(http:\/\/127\.0\.0\.1:\d+)/, 30_000);
  const walSyncs = (): number => (readFileSync(log, 'utf8').match(/(fsync|fdatasync)\(\d+<[^>]*events\.db-wal>\)/g) ?? []).length;
  const before = walSyncs();
  for (let i = 0; i < 5; i++) assert.equal((await postJson(m[1]!, numberedEvent(i))).status, 200);
  await waitFor(() => walSyncs() >= before + 5, `five syncs of the WAL (saw ${walSyncs() - before})`, 5_000);
});

test('two listeners creating one store at the same moment both start (SQLite refuses one of them at once: it retries)', { skip: !canStrace && 'no strace' }, async (t) => {
  // Every file lock of both processes slowed by 30 ms makes the race certain: both turn the new file into a WAL
  // database, each holding a shared lock and asking for the exclusive one, and SQLite answers one of them
  // SQLITE_BUSY at once instead of letting both wait. Before the retry, one of the two exited 1 ("stayed locked by
  // another process for 5 s") in 5 runs of 5; it was seen once in CI without strace.
  const { dir, cleanup } = tempDir();
  const slow = ['strace', '-f', '-o', '/dev/null', '-e', 'trace=fcntl', '-e', 'inject=fcntl:delay_exit=30000'];
  const clis = [runCli(['--no-tunnel', '--no-inspect', '--port', '0', '--store', dir], {}, slow), runCli(['--no-tunnel', '--no-inspect', '--port', '0', '--store', dir], {}, slow)];
  t.after(async () => {
    for (const cli of clis) await stopTraced(cli);
    cleanup();
  });
  await Promise.all(
    clis.map(
      (cli) =>
        new Promise<void>((resolve, reject) => {
          // Whichever comes first; an exit after the start (the cleanup) changes nothing.
          void cli.exited.then((code) => reject(new Error(`a listener exited (${code}) instead of starting:\n${cli.stderr}`)));
          cli.waitForOutput(/Waiting for events/, 30_000).then(() => resolve(), reject);
        }),
    ),
  );
  for (const cli of clis) assert.doesNotMatch(cli.stderr, /locked/);
});

test('events -n 0 on a store of 33,000 events lists them all (one SQL variable per event went past SQLite’s 32,766), in a 64 MB heap', { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const wl = await startListening(['--no-inspect'], { store: dir });
  assert.equal((await postJson(wl.url, numberedEvent(0))).status, 200);
  await wl.cli.stop('SIGINT');
  // 33,000 copies of that event under ids of their own, each with a 1.5 KB binary body (2 KB of base64 in --json),
  // written straight into the store (posting them would take a while).
  const db = new DatabaseSync(join(dir, 'events.db'));
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 33000)
    INSERT INTO events (id, received_at, method, url, path, query, headers, size, body_size, remote_address, name, targets, rejected, summary, body)
    SELECT printf('00000%021d', i), received_at, method, url, path, query, headers, 1536, 1536, remote_address, name, targets, rejected, summary, zeroblob(1536)
    FROM n, (SELECT * FROM events LIMIT 1)`);
  db.close();
  // In a 64 MB heap: the listing is read a page at a time and written as the reader takes it (it was all held at once).
  const all = await run(['events', '-n', '0', '--json', '--store', dir], { NODE_OPTIONS: '--max-old-space-size=64' });
  assert.equal(all.code, 0, all.stderr.slice(0, 500));
  const lines = all.stdout.trim().split('\n');
  assert.equal(lines.length, 33_001);
  assert.equal(new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size, 33_001, 'each event once');
  const human = await run(['events', '-n', '0', '--store', dir]);
  assert.equal(human.stdout.trim().split('\n').length, 33_001);
});

test('the store deleted under a running listener: the next webhook is answered 503, not 200 into the deleted file; every 200 after it is kept', async (t) => {
  // Before, events were written into the unlinked file and answered 200 until the keeper noticed (~1 s): 491 to
  // 1,036 such events lost in four runs of issue 25's script.
  const wl = await startListening(['--no-inspect']);
  t.after(() => wl.cleanup());
  assert.equal((await postJson(wl.url, numberedEvent(0))).status, 200);
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(wl.store, `events.db${suffix}`), { force: true });
  const answers: { status: number; id?: string }[] = [];
  for (let i = 1; i <= 20; i++) {
    const reply = await postJson(wl.url, numberedEvent(i));
    answers.push({ status: reply.status, ...(reply.status === 200 ? { id: (JSON.parse(reply.text) as { id: string }).id } : {}) });
  }
  // The commit that finds the file gone answers 503 (unless the keeper's once-a-second look found it first); then the
  // new file takes every event.
  const refused = answers.filter((a) => a.status === 503).length;
  assert.ok(refused <= 1 && answers.slice(refused).every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.status)));
  if (refused) assert.match(wl.cli.stderr, /events\.db was deleted while webhook-listen ran — it writes to a new one from now on.*not kept.* — webhooks are answered 503/);
  const listed = await run(['events', '--json', '-n', '0', '--store', wl.store]);
  const kept = new Set(listed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id));
  for (const a of answers.filter((x) => x.id)) assert.ok(kept.has(a.id!), `event ${a.id} was answered 200 and is in the store`);
});

test('an older copy written over the store file (same inode): noticed within about a second, 503 from then on; every 200 is recoverable', { timeout: 60_000 }, async (t) => {
  // Issue 25, item 2: `cp old.db events.db` keeps the inode, so the listener never noticed (378 events answered 200
  // then never delivered in issue 25's run) and the store ended up unreadable. Now the file written while the WAL
  // index shows no checkpoint is taken for another program's write.
  const wl = await startListening(['--no-inspect']);
  t.after(() => wl.cleanup());
  const file = join(wl.store, 'events.db');
  const answered: string[] = [];
  const post = async (i: number): Promise<number> => {
    const reply = await postJson(wl.url, numberedEvent(i));
    if (reply.status === 200) answered.push((JSON.parse(reply.text) as { id: string }).id);
    return reply.status;
  };
  for (let i = 0; i < 50; i++) assert.equal(await post(i), 200);
  const old = readFileSync(file);
  for (let i = 50; i < 100; i++) assert.equal(await post(i), 200);
  writeFileSync(file, old);
  const started = Date.now();
  let status = 200;
  for (let i = 100; i < 5_000 && status === 200 && Date.now() - started < 10_000; i++) status = await post(i);
  assert.equal(status, 503, 'refused once the overwrite is noticed');
  assert.ok(Date.now() - started < 5_000, `noticed after ${Date.now() - started} ms`);
  // Said when noticed (by the once-a-second look, or by the commit that fails), and not again for every 503.
  assert.ok((wl.cli.stderr.match(/was overwritten by another program while webhook-listen had it open/g)?.length ?? 0) <= 2, wl.cli.stderr);
  assert.equal(wl.cli.stderr.match(/webhooks are answered 503/g)?.length ?? 0, 1, wl.cli.stderr);
  assert.match(wl.cli.stderr, /run `webhook-listen store recover --store /);
  assert.equal(await wl.cli.stop('SIGINT'), 0);
  const recover = await run(['store', 'recover', '--store', wl.store]);
  assert.equal(recover.code, 0, recover.stderr);
  const listed = await run(['events', '--json', '-n', '0', '--store', wl.store]);
  const kept = new Set(listed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id));
  const after = answered.slice(100);
  assert.ok(after.length > 0, 'some events were answered 200 after the copy, before it was noticed');
  assert.deepEqual(after.filter((id) => !kept.has(id)), [], 'every event answered 200 after the copy is in the recovered store');
});

test('another process restarting the WAL and checkpointing between two looks is not taken for an overwrite', (t) => {
  // Seen in CI as 503s from two listeners on one store: the WAL started over (new salts) and was checkpointed again
  // between two looks, and the look took the changed file for another program's write.
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'events.db');
  const mine = new DatabaseSync(file);
  mine.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x)');
  t.after(() => mine.close());
  const other = new DatabaseSync(file);
  other.exec('PRAGMA wal_autocheckpoint = 0');
  t.after(() => other.close());
  const watch = new OverwriteWatch(file);
  const write = (): void => other.exec("INSERT INTO t VALUES (randomblob(5000)); PRAGMA wal_checkpoint(PASSIVE)");
  write();
  assert.equal(watch.check(1_000), false);
  // Two generations of the WAL, each copied back, between one look and the next.
  write();
  write();
  assert.equal(watch.check(1_010), false);
  assert.equal(watch.check(5_000), false, 'still not, a while later');
  // A write that is not SQLite's is still caught.
  writeFileSync(file, readFileSync(file));
  assert.equal(watch.check(6_000), false, 'a suspicion first');
  assert.equal(watch.check(7_100), true, 'confirmed a second later');
});

test('two listeners checkpointing one store under load never take each other for an overwrite', { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = await listen([], dir);
  const b = await listen([], dir);
  t.after(async () => {
    await a.cli.stop('SIGKILL');
    await b.cli.stop('SIGKILL');
  });
  // 2 kB events: 2,000 of them fill the WAL past a checkpoint several times, half written by each listener.
  const body = (i: number): string => JSON.stringify({ seq: i, pad: 'x'.repeat(2_000) });
  for (let i = 0; i < 2_000; i += 2) {
    const [ra, rb] = await Promise.all([postJson(a.url, body(i)), postJson(b.url, body(i + 1))]);
    assert.deepEqual([ra.status, rb.status], [200, 200], `events ${i}, ${i + 1}`);
  }
  assert.deepEqual(await Promise.all([a.cli.stop('SIGINT'), b.cli.stop('SIGINT')]), [0, 0]);
  assert.doesNotMatch(a.cli.stderr + b.cli.stderr, /overwritten/);
  assert.equal(query<{ n: number }>(dir, 'SELECT count(*) AS n FROM events')[0]!.n, 2_000);
});

/**
 * SIGSTOP, at a moment the process holds no write lock. Stopped inside a commit (each is synced, so a listener busy
 * delivering is inside one a good part of the time), it keeps the lock and no other process can write until it
 * wakes: the other listener answers 503 meanwhile and takes nothing over, which is not what a test of take-overs is
 * after. Bounded: 20 tries.
 */
async function pauseOutsideCommit(cli: Cli, file: string): Promise<void> {
  const pid = cli.child.pid!;
  const stopped = (): boolean => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  for (let i = 0; i < 20; i++) {
    cli.child.kill('SIGSTOP');
    await waitFor(stopped, 'the listener stopped', 5_000);
    const probe = new DatabaseSync(file);
    try {
      probe.exec('PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK');
      return;
    } catch {
      cli.child.kill('SIGCONT');
      await waitFor(() => !stopped(), 'the listener running again', 5_000);
    } finally {
      probe.close();
    }
  }
  assert.fail('the listener held the write lock at each of 20 pauses');
}

test('a listener paused past its lease (SIGSTOP, a laptop asleep) does not deliver again what another took over', { timeout: 90_000 }, async (t) => {
  // Issue 25, item 6: the paused listener, on waking, still delivered the jobs in its memory that the other had taken
  // over meanwhile: 162 to 2,454 duplicates. Now it checks its lease before each attempt and drops what it lost.
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const app = await appLater(t);
  const args = ['-f', app.target, '--retry-delay', '200ms'];
  const a = await listen(args, dir);
  const b = await listen(args, dir);
  t.after(async () => {
    a.cli.child.kill('SIGCONT');
    await a.cli.stop('SIGKILL');
    await b.cli.stop('SIGKILL');
  });
  const total = 300;
  for (let i = 0; i < total; i++) assert.equal((await postJson(a.url, numberedEvent(i))).status, 200);
  const up = await app.up();
  // A slow app: A is paused with most of its queue still to deliver.
  up.respondWith((_r, res) => void setTimeout(() => res.end('ok'), 10).unref());
  await up.waitForCount(20, 20_000);
  await pauseOutsideCommit(a.cli, join(dir, 'events.db'));
  await b.cli.waitForOutput(/took over \d+ pending deliveries/, 30_000, 'stderr');
  a.cli.child.kill('SIGCONT');
  await waitFor(() => new Set(seqsOf(up)).size === total, 'every event delivered', 60_000);
  // Both stopped cleanly: whatever either was going to send has been sent.
  assert.deepEqual(await Promise.all([a.cli.stop('SIGINT'), b.cli.stop('SIGINT')]), [0, 0]);
  const got = seqsOf(up);
  assert.deepEqual([...new Set(got)].sort((x, y) => x - y), [...Array(total).keys()], 'none lost');
  const twice = got.length - new Set(got).size;
  // What was in flight at the pause: the attempt under way, and the few whose results were made but not yet written
  // (they go in the next group commit, a turn later). Seen: 0 to 3 (issue 25's target: a handful, ≤ 20 of 6,000).
  assert.ok(twice <= 5, `${twice} delivered twice (at most what was in flight at the pause)`);
  assert.match(a.cli.stderr, /paused past its lease/);
});

test('another process holding the write lock: webhooks get 503 within a second, 200 once it lets go; results made meanwhile are written then', { timeout: 30_000 }, async (t) => {
  // Issue 25, item 8: each write waited SQLite's 5 s busy timeout on the event loop (503s after a median 9.9 s), and
  // delivery results that could not be written were dropped, so delivered events stayed owed and went out again.
  const app = await startApp();
  t.after(() => app.close());
  app.respondWith((_r, res) => void setTimeout(() => res.end('ok'), 400).unref());
  const wl = await startListening(['-f', app.url, '--no-inspect']);
  t.after(() => wl.cleanup());
  assert.equal((await postJson(wl.url, numberedEvent(0))).status, 200);
  await app.waitForCount(1);
  // The delivery is at the app (it answers in 0.4 s): its result will meet the lock.
  const lock = new DatabaseSync(join(wl.store, 'events.db'));
  lock.exec('PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE');
  const started = Date.now();
  const refused = await postJson(wl.url, numberedEvent(1));
  const took = Date.now() - started;
  assert.equal(refused.status, 503);
  assert.ok(took < 1_000, `answered after ${took} ms`);
  await wl.cli.waitForRecord((r) => r.type === 'delivery' && r.status === 200, 'the delivery made during the lock');
  lock.exec('COMMIT');
  lock.close();
  let status = 0;
  for (let i = 0; i < 20 && status !== 200; i++) status = (await postJson(wl.url, numberedEvent(2))).status;
  assert.equal(status, 200, 'taken again once the lock is gone');
  await waitFor(() => query<{ n: number }>(wl.store, "SELECT count(*) AS n FROM deliveries WHERE status = 200")[0]!.n >= 1, 'the result made during the lock, written', 5_000);
  assert.equal(await wl.cli.stop('SIGINT'), 0);
  assert.doesNotMatch(wl.cli.stderr, /still pending/, 'nothing left owed: the first event was delivered and recorded so');
});

test('one-shot commands under another process\'s write lock: reads at once, writes wait saying so, then go through', { timeout: 30_000 }, async (t) => {
  // Issue 25, item 8: `pending` and `events` failed after a silent 5 s (opening asked for the write lock), and
  // `cancel`/`retry` failed the same way. Reads never need the lock; a write says it waits, and goes once it is free.
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const wl = await startListening(['-f', `http://127.0.0.1:${await freePort()}`, '--no-inspect'], { store: dir });
  for (let i = 0; i < 2; i++) assert.equal((await postJson(wl.url, numberedEvent(i))).status, 200);
  assert.equal(await wl.cli.stop('SIGINT'), 0);
  const lock = new DatabaseSync(join(dir, 'events.db'));
  lock.exec('BEGIN IMMEDIATE');
  t.after(() => lock.isOpen && lock.close());
  const started = Date.now();
  const pending = await run(['pending', '--json', '--store', dir]);
  assert.equal(pending.code, 0, pending.stderr);
  assert.equal(pending.stdout.trim().split('\n').length, 2);
  assert.equal((await run(['events', '-n', '1', '--store', dir])).code, 0);
  assert.ok(Date.now() - started < 4_000, `the reads took ${Date.now() - started} ms`);
  const id = JSON.parse(pending.stdout.split('\n')[0]!).eventId as string;
  const cancel = runCli(['cancel', id, '--store', dir]);
  await cancel.waitForOutput(/another process is writing to the event store .* waiting up to 30 s for it to let go/, 10_000, 'stderr');
  lock.exec('COMMIT');
  lock.close();
  assert.equal(await cancel.exited, 0, cancel.stderr);
  assert.match(cancel.stdout + cancel.stderr, /cancelled 1 delivery/);
  assert.equal(pendingRows(dir).length, 1);
});

test('a write that meets a lock held past its patience fails with what to do, having said it waited', { timeout: 15_000 }, (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const said: string[] = [];
  const options = { keep: 100, describe: describeEvent, busyTimeoutMs: 50, patience: { ms: 300, onWait: (m: string) => said.push(m) } };
  openStore(dir, options).close();
  const lock = new DatabaseSync(join(dir, 'events.db'));
  lock.exec('BEGIN IMMEDIATE');
  t.after(() => lock.close());
  const store = openStore(dir, options);
  t.after(() => store.close());
  assert.throws(() => store.cancelPending({}), /stayed locked by another process for 300 ms .* find it with `fuser .*events\.db`, let it finish, then run this again/);
  assert.equal(said.length, 1);
});

test('store check finds a damaged store; store recover copies what is readable into a new one, rebuilds what is owed, keeps the damaged file', { timeout: 60_000 }, async (t) => {
  // Issue 25, item 5: a damaged page stranded every owed delivery, and the suggested `sqlite3 events.db .recover`
  // fails with Debian's sqlite3 on any database. Now the tool has its own check and recovery.
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const wl = await startListening(['-f', `http://127.0.0.1:${await freePort()}`, '--no-inspect'], { store: dir });
  for (let i = 0; i < 60; i++) assert.equal((await postJson(wl.url, numberedEvent(i))).status, 200);
  assert.equal(await wl.cli.stop('SIGINT'), 0);
  assert.equal((await run(['store', 'check', '--store', dir])).code, 0, 'sound before');
  // One page in the middle of the file overwritten (a disk error, a bad copy): its events are gone, not the others.
  const file = join(dir, 'events.db');
  const pages = statSync(file).size / 4096;
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, Math.floor(pages / 2) * 4096);
  closeSync(fd);
  const check = await run(['store', 'check', '--store', dir]);
  assert.equal(check.code, 1, check.stderr);
  assert.match(check.stderr, /is damaged — stop every webhook-listen on it, then run: webhook-listen store recover --store /);
  const recover = await run(['store', 'recover', '--store', dir]);
  const m = /recovered (\d+) events and \d+ delivery attempts? into a new .*; (\d+) deliveries are owed .*the damaged file is kept as (\S+events\.db\.damaged-\S+)$/m.exec(recover.stderr);
  assert.ok(m, recover.stderr);
  const [recovered, owed] = [Number(m[1]), Number(m[2])];
  assert.ok(recovered > 0 && recovered <= 60, `${recovered} events recovered`);
  assert.equal(owed, recovered, 'every recovered event is still owed to its target');
  assert.ok(statSync(m[3]!).size > 0, 'the damaged file is kept');
  assert.equal((await run(['store', 'check', '--store', dir])).code, 0, 'the new store is sound');
  const listed = await run(['events', '--json', '-n', '0', '--store', dir]);
  assert.equal(listed.stdout.trim().split('\n').length, recovered);
  const pending = await run(['pending', '--json', '--store', dir]);
  assert.equal(pending.stdout.trim().split('\n').length, owed);
});

test('a store found damaged by any statement takes no more events: 503 until the file is replaced, said once with what to do', { timeout: 30_000 }, async (t) => {
  // Issue 25, item 3: with pages damaged while running, "is damaged" was logged every few seconds while new events
  // kept getting 200 (6,832 in issue 25's run, none delivered after a restart).
  const wl = await startListening(['--no-inspect']);
  t.after(() => wl.cleanup());
  assert.equal((await postJson(wl.url, numberedEvent(0))).status, 200);
  const file = join(wl.store, 'events.db');
  // Everything into the file (the listener's page cache is dropped with the WAL), then the page of the table the
  // listener reads every second for cancel/retry from other terminals overwritten.
  const side = new DatabaseSync(file);
  side.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const root = (side.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'control'").get() as { rootpage: number }).rootpage;
  side.close();
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, (root - 1) * 4096);
  closeSync(fd);
  await wl.cli.waitForOutput(/is damaged/, 10_000, 'stderr');
  const reply = await postJson(wl.url, numberedEvent(1));
  assert.equal(reply.status, 503, 'not 200 into a store known to be damaged');
  assert.match(wl.cli.stderr, /run `webhook-listen store recover --store /);
});

test('pending on a store owing 60,000 deliveries lists them all in a 64 MB heap, a page at a time', { timeout: 60_000 }, async (t) => {
  // Issue 29, item 4: pending read every owed row at once (40,000 owed: 174 MB of RSS to list them).
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const wl = await startListening(['--no-inspect', '-f', `http://127.0.0.1:${await freePort()}`], { store: dir });
  assert.equal((await postJson(wl.url, numberedEvent(0))).status, 200);
  await wl.cli.stop('SIGINT');
  // 60,000 copies of that event, each owed to its target, with a 2 KB summary (what each listed row carries).
  const db = new DatabaseSync(join(dir, 'events.db'));
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
    INSERT INTO events (id, received_at, method, url, path, query, headers, size, body_size, remote_address, name, targets, rejected, summary, body)
    SELECT printf('00000%021d', i), received_at, method, url, path, query, headers, size, body_size, remote_address, name, targets, rejected,
      json_set(summary, '$.preview', printf('%.2000c', 'x')), body
    FROM n, (SELECT * FROM events LIMIT 1)`);
  db.exec(`INSERT INTO pending (event_id, target, event_seq, attempts) SELECT e.id, j.value, e.seq, 1 FROM events e, json_each(e.targets) j
    WHERE e.id LIKE '00000%'`);
  db.close();
  const listed = await run(['pending', '--json', '--store', dir], { NODE_OPTIONS: '--max-old-space-size=64' });
  assert.equal(listed.code, 0, listed.stderr.slice(0, 500));
  const lines = listed.stdout.trim().split('\n');
  assert.equal(lines.length, 60_001);
  assert.equal(new Set(lines.map((l) => (JSON.parse(l) as { eventId: string }).eventId)).size, 60_001, 'each once, in pages');
  assert.equal((JSON.parse(lines[0]!) as { eventSeq?: number }).eventSeq, undefined);
});
