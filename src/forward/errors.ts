/** Our own code for an answer that came but did not end within --forward-timeout (http-client.ts). */
export const ANSWER_TIMEOUT = 'WL_ANSWER_TIMEOUT';
/** Connecting is bounded by --forward-timeout too, but never waits longer than 10 s for a TCP connection. */
export const connectTimeoutMs = (timeoutMs: number): number => Math.min(timeoutMs, 10_000);

/** Certificate errors: retrying cannot help, --insecure can. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_NOT_YET_VALID',
]);

/** What OpenSSL says when the other end is not speaking TLS at all. */
const PLAIN_HTTP_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);

/** An error of one attempt as a short code and one line a person can act on. */
export function describeError(err: unknown, url: string, timeoutMs: number): { error: string; message: string } {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.cause?.code ?? e.code ?? e.name ?? 'ERROR';
  let where = url;
  try {
    where = new URL(url).host;
  } catch {
    // keep the raw text
  }
  // https:// to an app that speaks plain HTTP: OpenSSL reads the app's HTTP answer as a TLS record.
  if (PLAIN_HTTP_CODES.has(code) || /wrong version number|packet length too long/i.test(e.cause?.message ?? e.message ?? ''))
    return { error: 'TLS', message: `${where} speaks plain HTTP, not TLS: use http://${where} instead of https://` };
  if (TLS_CODES.has(code))
    return { error: 'TLS', message: `${where} has a certificate this machine does not trust (${code}) — for a local self-signed one, add --insecure` };
  if (code === 'UND_ERR_CONNECT_TIMEOUT')
    return { error: 'CONNECT_TIMEOUT', message: `could not connect to ${where} within ${connectTimeoutMs(timeoutMs) / 1000}s — is the host right and up?` };
  if (code === ANSWER_TIMEOUT)
    return { error: 'INCOMPLETE', message: `the answer from ${where} did not finish within ${timeoutMs / 1000}s — is the target a streaming endpoint? (raise --forward-timeout)` };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return { error: 'TIMEOUT', message: `no answer from ${where} within ${timeoutMs / 1000}s — is your app stuck? (raise --forward-timeout)` };
  switch (code) {
    case 'ECONNREFUSED':
      return { error: code, message: `nothing is listening on ${where} — is your app running?` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { error: code, message: `cannot resolve ${where} — check the host in the URL` };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return { error: 'ECONNRESET', message: `${where} closed the connection before answering` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { error: code, message: `${where} is unreachable from this machine` };
    default:
      return { error: code, message: `forwarding to ${where} failed: ${e.message}` };
  }
}
