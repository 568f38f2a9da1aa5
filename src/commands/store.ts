import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../core/errors.js';
import { describeEvent } from '../format/describe.js';
import { DB_FILE, checkStoreFile, moveAside, openStore, salvage } from '../store/index.js';
import type { CommandIO } from './io.js';

/** `webhook-listen store check`: SQLite's integrity check of the store; true when it is sound. */
export function checkStore(options: { storeDir: string }, io: CommandIO): boolean {
  const file = join(options.storeDir, DB_FILE);
  if (!existsSync(file)) throw new RunError(`no event store at ${options.storeDir} — pass --store <dir>`);
  const problems = checkStoreFile(options.storeDir);
  if (problems.length === 0) {
    io.printer.info(`the event store ${file} is sound`);
    return true;
  }
  for (const p of problems.slice(0, 10)) io.printer.warn(p);
  if (problems.length > 10) io.printer.warn(`… and ${problems.length - 10} more`);
  io.printer.error(
    `the event store ${file} is damaged — stop every webhook-listen on it, then run: webhook-listen store recover --store ${options.storeDir}`,
  );
  return false;
}

/**
 * `webhook-listen store recover`: moves the damaged file aside, copies every readable event and delivery attempt into
 * a new store at the same place, and rebuilds what is owed from them (an event's targets less its final deliveries).
 */
export function recoverStore(options: { storeDir: string }, io: CommandIO): boolean {
  const file = join(options.storeDir, DB_FILE);
  if (!existsSync(file)) throw new RunError(`no event store at ${options.storeDir} — pass --store <dir>`);
  const aside = moveAside(options.storeDir);
  let store;
  try {
    store = openStore(options.storeDir, { keep: Number.MAX_SAFE_INTEGER, describe: describeEvent, warn: (m) => io.printer.warn(m) });
  } catch (err) {
    throw new RunError(`${(err as Error).message} (the damaged file is kept as ${aside})`, { cause: err });
  }
  try {
    const got = salvage(aside, (events, deliveries) => store.restore(events, deliveries));
    const owed = store.listPending().length;
    io.printer.info(
      `recovered ${got.events} ${got.events === 1 ? 'event' : 'events'} and ${got.deliveries} delivery ${got.deliveries === 1 ? 'attempt' : 'attempts'} into a new ${file}` +
        `${got.unreadable ? `; ${got.unreadable} rows could not be read` : ''}; ${owed} ${owed === 1 ? 'delivery is' : 'deliveries are'} owed (the next webhook-listen -f resumes them)` +
        `; the damaged file is kept as ${aside}`,
    );
    return got.unreadable === 0;
  } finally {
    store.close();
  }
}
