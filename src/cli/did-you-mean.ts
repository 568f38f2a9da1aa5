/** The command name closest to `word` (edit distance at most 2), for "did you mean". */
export function closest(word: string, names: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  const best = names.map((n) => [n, distance(word, n)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= 2 ? best[0] : undefined;
}

/**
 * What a word given to the listener, which takes none, was probably meant as: a forward target typed the way
 * `ngrok http 3000` or `lt --port 3000` take one, or a `listen` command as `stripe listen` has.
 */
export function strayHint(word: string): string | undefined {
  if (word === 'listen' || word === 'http') return 'the listener is webhook-listen itself, no command: webhook-listen --forward-to 3000';
  if (/^(\d{1,5}|:\d{1,5}|(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?)([/?]|$)/i.test(word) || /^https?:\/\//i.test(word))
    return `to forward events to your app, give it to --forward-to: webhook-listen --forward-to ${word}`;
  return undefined;
}

// `webhook-listen evnets` would otherwise be "too many arguments" to the listen command.
