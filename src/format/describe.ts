import type { EventDescription, WebhookEvent } from '../core/event.js';
import { searchText } from '../core/search.js';
import { type Summary, summarize, summaryText } from './summary.js';

/** An event's description (its summary, already made, or made here). */
export function describeEvent(event: WebhookEvent, summary: Summary = summarize(event)): EventDescription {
  return { summary: JSON.stringify(summary), text: searchText(summaryText(summary), event.id, event.path) };
}
