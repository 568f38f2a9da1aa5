import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUBDOMAIN_RE, readableSubdomain } from '../core/subdomain.js';

const FILE = 'tunnel.json';

/**
 * The subdomain this store asks for on every start, so the URL pasted into the platform keeps working across
 * restarts: the one kept in the store folder, or a new one (kept there) on the first run or when `fresh`.
 */
export function rememberedSubdomain(storeDir: string, fresh: boolean): string {
  const file = join(storeDir, FILE);
  if (!fresh) {
    try {
      const kept = (JSON.parse(readFileSync(file, 'utf8')) as { subdomain?: unknown }).subdomain;
      if (typeof kept === 'string' && SUBDOMAIN_RE.test(kept)) return kept;
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
