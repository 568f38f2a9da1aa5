import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';

/** The main file's stamp and the WAL index's checkpoint state at one look. */
interface Look {
  mtimeMs: number;
  size: number;
  /** The WAL's salts: new ones each time it starts over; the first counts the restarts. */
  salt1: number;
  salt2: number;
  /** Frames in the WAL, and frames of it copied back into the main file. */
  frames: number;
  backfill: number;
}

/** Whether SQLite wrote the main file between two looks (a checkpoint copied frames back). */
function checkpointedBetween(a: Look, b: Look): boolean {
  if (a.salt1 === b.salt1 && a.salt2 === b.salt2) return b.backfill > a.backfill;
  // The WAL started over (its first salt counts the restarts, and each restart needs the WAL before it copied back
  // whole): the rest of the old one was copied, or a generation in between was, or the new one already is.
  return a.backfill < a.frames || b.salt1 - a.salt1 !== 1 || b.backfill > 0;
}

/** How long a change of the file with no checkpoint stays a suspicion (another process's checkpoint in progress). */
const CONFIRM_MS = 1_000;

/** How often a commit looks (a look is a stat and a read: per commit, they showed in instructions per request). */
const LOOK_EVERY_MS = 200;

/** The WAL index is in the machine's byte order. */
const u32 = (b: Buffer, at: number): number => (endianness() === 'LE' ? b.readUInt32LE(at) : b.readUInt32BE(at));

/**
 * Notices the database file written by something other than SQLite: `cp old.db events.db` keeps the inode, so only the
 * content tells. In WAL mode SQLite writes the main file only when it checkpoints, and every checkpoint moves the WAL
 * index's backfill count (or, on a WAL restart, its salts). This connection checkpoints only through `ours()`; the file
 * changed while the count did not means another program wrote it. Another process's checkpoint writes the file just
 * before it moves the count, so a change is first a suspicion, confirmed when the count has not moved a second later.
 */
export class OverwriteWatch {
  #last?: Look;
  #suspectSince = 0;
  #lookedAt = 0;
  #shm?: number;
  readonly #header = Buffer.alloc(136);

  constructor(private readonly file: string) {}

  /** Whether a look is due for a commit (one every 200 ms; the keeper's once a second and each checkpoint's come on top). */
  due(now = Date.now()): boolean {
    return now - this.#lookedAt >= LOOK_EVERY_MS;
  }

  /** true once the file is known to have been overwritten since this connection last checkpointed. */
  check(now = Date.now()): boolean {
    this.#lookedAt = now;
    const look = this.#look();
    const last = this.#last;
    if (!look || !last || checkpointedBetween(last, look)) {
      this.#last = look;
      this.#suspectSince = 0;
      return false;
    }
    if (this.#suspectSince === 0 && (look.mtimeMs !== last.mtimeMs || look.size !== last.size)) this.#suspectSince = now;
    return this.#suspectSince !== 0 && now - this.#suspectSince >= CONFIRM_MS;
  }

  /** Runs this connection's own checkpoint: its writes to the file are not taken for another program's. */
  ours(checkpoint: () => void): void {
    this.check();
    checkpoint();
    const after = this.#look();
    // Under suspicion, the stamp that raised it is kept: only the checkpoint count moves on.
    if (after && this.#suspectSince !== 0 && this.#last) this.#last = { ...after, mtimeMs: this.#last.mtimeMs, size: this.#last.size };
    else this.#last = after;
  }

  /** WAL frames not yet copied into the main file (0 when the index cannot be read). */
  walBacklog(): number {
    const h = this.#readHeader();
    return h ? u32(h, 16) - u32(h, 96) : 0;
  }

  /** Forgets what was seen: the file was reopened. */
  reset(): void {
    this.#last = undefined;
    this.#suspectSince = 0;
    if (this.#shm !== undefined) closeSync(this.#shm);
    this.#shm = undefined;
  }

  #readHeader(): Buffer | undefined {
    try {
      this.#shm ??= openSync(`${this.file}-shm`, 'r');
      return readSync(this.#shm, this.#header, 0, 136, 0) === 136 ? this.#header : undefined;
    } catch {
      return undefined;
    }
  }

  #look(): Look | undefined {
    const h = this.#readHeader();
    if (!h) return undefined;
    try {
      const st = statSync(this.file);
      // WalIndexHdr: mxFrame at 16, aSalt at 32; WalCkptInfo after the header's two copies: nBackfill at 96.
      // The salts are the WAL header's bytes as written (big-endian), the counts the machine's own order.
      return { mtimeMs: st.mtimeMs, size: st.size, salt1: h.readUInt32BE(32), salt2: h.readUInt32BE(36), frames: u32(h, 16), backfill: u32(h, 96) };
    } catch {
      return undefined;
    }
  }
}
