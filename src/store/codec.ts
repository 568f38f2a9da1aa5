import type { DeliveryResult } from '../core/event.js';

/** A JSON column: how a value is written, and how it is read back with its shape checked (a damaged row never throws). */
export interface Column<T> {
  encode(value: T): string;
  decode(text: string | null): T;
}

const parse = (text: string | null): unknown => {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const isPair = (x: unknown): x is [string, string] => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string';

/** `events.headers`: the raw header pairs, case and order kept. */
export const headersColumn: Column<[string, string][]> = {
  encode: (pairs) => JSON.stringify(pairs),
  decode: (text) => {
    const v = parse(text);
    return Array.isArray(v) ? v.filter(isPair) : [];
  },
};

/** `events.targets`: the forward targets an event was (or will be) delivered to. */
export const targetsColumn: Column<string[]> = {
  // Most events have none, or were filtered: no stringify for those.
  encode: (targets) => (targets.length === 0 ? '[]' : JSON.stringify(targets)),
  decode: (text) => {
    if (text === '[]') return [];
    const v = parse(text);
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  },
};

/** `deliveries.data`: one attempt's whole result. */
export const deliveryColumn: Column<DeliveryResult> = {
  encode: (result) => JSON.stringify(result),
  decode: (text) => {
    const v = parse(text);
    if (typeof v === 'object' && v !== null && typeof (v as DeliveryResult).eventId === 'string') return v as DeliveryResult;
    return { eventId: '', target: '', url: '', method: '', attempt: 0, final: true, error: 'UNREADABLE', message: 'this attempt could not be read back from the store', durationMs: 0, at: '' };
  },
};
