import type { DecodedBody } from '../core/body.js';
import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import type { Summary } from './summary.js';

export interface ReadyInfo {
  version: string;
  listenUrl: string;
  publicUrl?: string;
  inspectorUrl?: string;
  targets: string[];
  /** Targets bound to event names (--forward-to names=url). */
  routes?: Record<string, string[]>;
  store: string;
  /** A line about the port, when it is not the one asked for. */
  portNote?: string;
  passthrough: boolean;
  events?: string[];
  tunnel: 'off' | 'opening' | 'open' | 'offline';
  /** Single keys act while listening: the banner lists them. */
  keys?: boolean;
  /** Targets typed as bare words (`webhook-listen 3000`): the banner says they are --forward-to. */
  shorthand?: string[];
  /** Events come through a relay channel (--relay): its URL is the public one. */
  relay?: { channel: string; kind?: 'smee' | 'gosmee' };
}

/** What happens to a relay subscription, and relay messages that did not become events. */
export interface RelayNotice {
  state: 'connected' | 'reconnecting' | 'back' | 'offline' | 'gap' | 'refused' | 'duplicate' | 'unsaved';
  message: string;
}

export interface TunnelNotice {
  state: 'open' | 'down' | 'reconnecting' | 'changed' | 'offline';
  publicUrl?: string;
  previousUrl?: string;
  message: string;
}

/** Where every view of the running tool goes; `--json` is just another printer. */
export interface Printer {
  ready(info: ReadyInfo): void;
  event(event: WebhookEvent, summary: Summary, decoded: DecodedBody): void;
  delivery(result: DeliveryResult, event: WebhookEvent): void;
  /** A request turned away without becoming an event (404 off --path, 403 from a browser or a foreign Host, 431). */
  ignored(info: { method: string; url: string; remoteAddress: string; status: number; reason: string }): void;
  tunnel(notice: TunnelNotice): void;
  relay(notice: RelayNotice): void;
  /** A transient status (a spinner on a terminal); null clears it. */
  progress(message: string | null): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string, cause?: unknown): void;
  /** Writes out anything still buffered (before the process exits). */
  flush(): void;
}
