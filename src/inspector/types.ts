import type { DeliveryResult, WebhookEvent } from '../core/event.js';
import type { Summary } from '../format/summary.js';
import type { StoreHandle } from '../store/index.js';

export interface ReplayRequest {
  /** Send to these instead of the event's targets. */
  targets?: string[];
  /** Edited body (text) or bytes (base64); absent means the original bytes. */
  body?: string;
  bodyBase64?: string;
  /** Edited headers; absent means the original ones. */
  headers?: [string, string][];
}

export interface InspectorOptions {
  port: number;
  /** The user asked for this port: a busy one is an error instead of a step to the next. */
  portExplicit: boolean;
  /** The flag that sets the port, for the message when it is busy (the listener's --inspect-port, inspect's --port). */
  portFlag?: string;
  /** The store the page lists and reads (the listener's own handle: queries are paged and indexed). */
  store: StoreHandle;
  /** Where "replay" sends when the request names no targets and the event had none. */
  defaultTargets: string[];
  /** Sends an event (maybe edited) to targets and records the results; never throws. */
  replay(event: WebhookEvent, targets: string[], edited: boolean): Promise<DeliveryResult[]>;
  /** The URL events are sent to, for "copy as cURL" when there is no forward target. */
  listenUrl?: string;
}

/** The public tunnel as the page's header shows it. */
export interface TunnelStatus {
  state: 'off' | 'opening' | 'open' | 'reconnecting' | 'local-only';
  publicUrl?: string;
  reason?: string;
}

export interface InspectorHandle {
  readonly url: string;
  readonly port: number;
  /** Pushes a new event or delivery to every open page. */
  publishEvent(event: WebhookEvent, summary: Summary): void;
  publishDelivery(result: DeliveryResult): void;
  /** Pushes the tunnel's state (and public URL) to every open page. */
  publishTunnel(status: TunnelStatus): void;
  close(): Promise<void>;
}

