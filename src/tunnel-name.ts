import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ADJECTIVES = 'amber brave bright calm clever cosy crisp daring eager fair gentle glad happy jolly keen kind lively lucky merry mellow neat nimble proud quick quiet rapid sunny swift tidy vivid warm witty'.split(' ');
const ANIMALS = 'badger beaver bison crane dolphin eagle falcon ferret finch fox gecko heron ibis koala lemur lynx marten moose newt otter owl panda puffin quail raven robin seal stoat swan tapir walrus wombat'.split(' ');
const FILE = 'tunnel.json';

/** A readable random subdomain such as `quiet-otter-4821` (localtunnel accepts 4–63 lowercase letters, digits, dashes). */
export function readableSubdomain(random: () => number = Math.random): string {
  const pick = (list: string[]): string => list[Math.floor(random() * list.length)]!;
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${String(Math.floor(random() * 10_000)).padStart(4, '0')}`;
}

/**
 * The subdomain this store asks for on every start, so the URL pasted into the platform keeps working across
 * restarts: the one kept in the store folder, or a new one (kept there) on the first run or when `fresh`.
 */
export function rememberedSubdomain(storeDir: string, fresh: boolean): string {
  const file = join(storeDir, FILE);
  if (!fresh) {
    try {
      const kept = (JSON.parse(readFileSync(file, 'utf8')) as { subdomain?: unknown }).subdomain;
      if (typeof kept === 'string' && /^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/.test(kept)) return kept;
    } catch {
      // Missing or unreadable: a new name, written below.
    }
  }
  const name = readableSubdomain();
  try {
    mkdirSync(storeDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify({ subdomain: name }) + '\n', { mode: 0o600 });
  } catch {
    // A store we cannot write to still gets a tunnel; the name just won't survive a restart.
  }
  return name;
}
