import { join } from 'node:path';

export const DB_FILE = 'events.db';

export class StoreError extends Error {
  constructor(
    message: string,
    readonly kind: 'full' | 'readonly' | 'io' | 'corrupt' | 'busy' | 'other' = 'other',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export const SQLITE = { BUSY: 5, READONLY: 8, IOERR: 10, CORRUPT: 11, FULL: 13, CANTOPEN: 14, NOTADB: 26 };

/** A SQLite or file error as one line a person can act on. */
export function describeStoreError(err: unknown, dir: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as NodeJS.ErrnoException & { errcode?: number; errstr?: string };
  const primary = typeof e.errcode === 'number' ? e.errcode & 0xff : undefined;
  const code = e.code;
  if (primary === SQLITE.FULL || code === 'ENOSPC')
    return new StoreError(`the disk holding the event store ${dir} is full (ENOSPC) — free some space or pass --store <dir>`, 'full', { cause: err });
  if (code === 'ENOTDIR' || code === 'EEXIST')
    return new StoreError(`the event store ${dir} cannot be a folder there (${code}: a file is in the way) — pass --store <dir>`, 'readonly', { cause: err });
  if (primary === SQLITE.READONLY || primary === SQLITE.CANTOPEN || code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new StoreError(
      `the event store ${dir} is not writable (${code?.startsWith('E') ? code : (e.errstr ?? 'read-only')}) — fix its permissions or pass --store <dir>`,
      'readonly',
      { cause: err },
    );
  if (primary === SQLITE.CORRUPT || primary === SQLITE.NOTADB)
    return new StoreError(
      `the event store ${join(dir, DB_FILE)} is damaged (${e.message}) — stop webhook-listen and run \`webhook-listen store recover --store ${dir}\`: it copies what is readable into a new store and keeps the damaged file aside`,
      'corrupt',
      { cause: err },
    );
  if (primary === SQLITE.BUSY)
    return new StoreError(`the event store ${dir} is locked by another process (one holding a write: sqlite3, a backup) — try again once it lets go`, 'busy', { cause: err });
  if (primary === SQLITE.IOERR)
    return new StoreError(`cannot write the event store ${dir} (I/O error: ${e.message}) — check the disk, or pass --store <dir>`, 'io', { cause: err });
  return new StoreError(`the event store ${dir}: ${e.message ?? String(err)} — pass --store <dir> to use another folder`, 'other', { cause: err });
}
