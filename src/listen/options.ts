import type { Secret } from '../core/signature.js';
import type { Channel } from '../relay/channel.js';

export interface ListenOptions {
  version: string;
  port: number;
  /** The user asked for this port: a busy one is an error instead of a step to the next. */
  portExplicit: boolean;
  host: string;
  targets: string[];
  /** Targets typed as bare words (`webhook-listen 3000`), as typed. */
  shorthand?: string[];
  path?: string;
  events?: string[];
  passthrough: boolean;
  maxBody: number;
  /** The local port's wait for a request's headers (20 s unless set: WEBHOOK_LISTEN_HEADERS_TIMEOUT_MS, for tests). */
  headersTimeoutMs?: number;
  forwardTimeoutMs: number;
  storeDir: string;
  keep: number;
  retries: number;
  retryDelayMs: number;
  /** Event N+1 only after event N succeeded or gave up, even when the app rejected N (--strict-order). */
  strictOrder?: boolean;
  /** Accept self-signed certificates on https targets (--insecure). */
  insecure?: boolean;
  /** Headers added to (or replacing) those of every forwarded request (--header); never stored. */
  headers?: [string, string][];
  /** Event names a target takes (`--forward-to check_run=URL`); a target absent here takes every event. */
  routes?: Map<string, string[]>;
  /** Secrets to verify signatures with (--secret), and a generic signature header (--signature-header). */
  secrets?: Secret[];
  signatureHeader?: string;
  resume: boolean;
  /**
   * Off, or the localtunnel server to use; the name to ask for (else the one kept in the store, or a new one when
   * `newUrl`); how often to check that the public URL still reaches the listener.
   */
  tunnel: false | { host: string; subdomain?: string; newUrl?: boolean; checkMs?: number };
  onUrl?: string;
  /** A webhook relay channel to subscribe to (--relay): its events go through the same pipeline. */
  relay?: { channel?: Channel; stallMs?: number };
  /** Off, or the inspector's port (the next free one unless asked for explicitly). */
  inspect: false | { port: number; explicit: boolean };
  /** Single keys act while listening (stdin is a terminal, not --json): the banner lists them. */
  keys?: boolean;
  /** The environment handed to --on-url commands. */
  env: NodeJS.ProcessEnv;
  /** Aborted when the user stops the listener while it starts: the start stops waiting for the tunnel. */
  stopping?: AbortSignal;
}

export interface ListenSession {
  readonly listenUrl: string;
  readonly inspectorUrl?: string;
  /** Sends the newest event again (the `r` key). */
  replayLast(): Promise<void>;
  /** Stops accepting, lets deliveries in flight finish (up to a few seconds), flushes the store. Idempotent. */
  shutdown(): Promise<void>;
}
