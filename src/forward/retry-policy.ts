import type { DeliveryResult } from '../core/event.js';

/**
 * No HTTP answer at all: the app is down or unreachable, which holds every event for that target, in order. An answer
 * that began but did not end within --forward-timeout (INCOMPLETE) is the app's answer to this event, not an outage.
 */
export function isOutage(result: DeliveryResult): boolean {
  const e = result.error;
  return e !== undefined && e !== 'INVALID' && e !== 'TLS' && e !== 'CANCELLED' && e !== 'INCOMPLETE';
}

/**
 * Whether the app's answer asks for another try: 5xx, 429, 408, or an answer that did not finish in time. Anything
 * else it answered is its final word (4xx, a redirect), and so is 508: a webhook-listen down the line saw its own event
 * come back (a forward loop).
 */
export function isRetryable(result: DeliveryResult): boolean {
  if (result.error) return result.error === 'INCOMPLETE' || isOutage(result);
  const s = result.status ?? 0;
  return (s >= 500 && s !== 508) || s === 429 || s === 408;
}

/** Seconds or an HTTP date in a Retry-After header, as milliseconds from now; undefined when absent or odd. */
export function retryAfterMs(result: DeliveryResult, now = Date.now()): number | undefined {
  const value = result.response?.headers.find(([k]) => k.toLowerCase() === 'retry-after')?.[1]?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before retry number `n` (from 1): `first` doubling up to `max`. */
export function backoff(n: number, first: number, max: number): number {
  return Math.min(first * 2 ** (n - 1), max);
}

/** How long before the next try of an event the app rejected: its backoff, or longer when the app said so. */
export function rejectionDelay(result: DeliveryResult, rejections: number, first: number, max: number, now = Date.now()): number {
  return Math.max(retryAfterMs(result, now) ?? 0, backoff(rejections, first, max));
}
