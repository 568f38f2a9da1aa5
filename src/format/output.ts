/**
 * Gathers the text written in one turn of the event loop and writes it at once: under load that is one
 * write call for many lines instead of one each. flush() writes what is pending now (before exiting).
 */
export function coalesced(stream: NodeJS.WritableStream): { write(text: string): void; flush(): void } {
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  return {
    write(text) {
      if (pending.length === 0) setImmediate(flush);
      pending.push(text);
    },
    flush,
  };
}
