import type { DeliveryResult } from '../core/event.js';

/** Errors that are the app's late answer to this one event, not an outage: it was reached, and took too long. */
const LATE = new Set(['TIMEOUT', 'INCOMPLETE']);

/**
 * The app could not be reached (refused, reset, unresolvable, no connection in time): that holds every event for the
 * target, in order, until it is back. An app that was reached but did not answer within --forward-timeout (TIMEOUT),
 * or whose answer did not end in time (INCOMPLETE), answered this event late: that is not an outage.
 */
export function isOutage(result: DeliveryResult): boolean {
  const e = result.error;
  return e !== undefined && e !== 'INVALID' && e !== 'TLS' && e !== 'CANCELLED' && !LATE.has(e);
}

/**
 * Whether the app's answer asks for another try: 5xx, 429, 408, or an answer that was late. Anything
 * else it answered is its final word (4xx, a redirect), and so is 508: a webhook-listen down the line saw its own event
 * come back (a forward loop).
 */
export function isRetryable(result: DeliveryResult): boolean {
  if (result.error) return LATE.has(result.error) || isOutage(result);
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
