/** The method and target of a request node could not read, when its first line says them; `?` otherwise. */
export function requestLineOf(raw: Buffer | undefined): [string, string] {
  const m = raw && /^([A-Z]{1,20}) (\S{1,2000}) HTTP\//.exec(raw.subarray(0, 2100).toString('latin1'));
  return m ? [m[1]!, m[2]!] : ['?', '?'];
}

/** Why node's HTTP parser refused a request, in words (with its code for a search). */
export function unreadable(code: string | undefined, raw: Buffer | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers over 64 KB — refused before they could be read';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'the request did not arrive in time — refused before it could be read';
  if (raw?.[0] === 0x16) return 'a TLS handshake: the sender used https:// for this http:// listener — the https URL is the tunnel’s public one';
  if (raw?.subarray(0, 3).toString('latin1') === 'PRI') return 'an HTTP/2 request: this listener reads HTTP/1.1';
  const what: Record<string, string> = {
    HPE_INVALID_HEADER_TOKEN: 'a header holds a character HTTP does not allow',
    HPE_INVALID_METHOD: 'not an HTTP request',
    HPE_INVALID_URL: 'its URL holds a character HTTP does not allow',
    HPE_INVALID_VERSION: 'not HTTP/1.x',
    HPE_UNEXPECTED_CONTENT_LENGTH: 'both Content-Length and Transfer-Encoding',
    HPE_INVALID_CONTENT_LENGTH: 'a Content-Length that is not one',
    HPE_INVALID_TRANSFER_ENCODING: 'a Transfer-Encoding HTTP does not allow, or one with a Content-Length',
    HPE_INVALID_CHUNK_SIZE: 'a malformed chunked body',
    HPE_LF_EXPECTED: 'lines not ended by CRLF',
    HPE_CR_EXPECTED: 'lines not ended by CRLF',
    HPE_INVALID_EOF_STATE: 'the sender closed its side before the request was complete',
  };
  return `could not be read as HTTP: ${(code && what[code]) ?? 'malformed'} (${code ?? 'unknown'})`;
}
