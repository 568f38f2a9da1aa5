export interface OnUrlReport {
  output(line: string): void;
  failed(message: string): void;
}

/** The longest piece of --on-url output shown as one line. */
const MAX_LINE = 4096;

/**
 * Runs the user's --on-url shell command with WEBHOOK_LISTEN_URL set. Its output is relayed line by
 * line and its failure reported; it never throws, so it can never stop the listener.
 */
export function runOnUrl(command: string, url: string, env: NodeJS.ProcessEnv, report: OnUrlReport): Promise<void> {
  return new Promise((resolve) => {
    let child;
    try {
      // Loaded here, not imported: off the start-up path of every run that has no --on-url.
      child = process.getBuiltinModule('node:child_process').spawn(command, { shell: true, env: { ...env, WEBHOOK_LISTEN_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      report.failed(`--on-url could not start: ${(err as Error).message}`);
      resolve();
      return;
    }
    // Line by line, each stream on its own: a line written in two pieces (a progress bar, a slow `curl`) is one line.
    const relay = (stream: NodeJS.ReadableStream): { flush(): void } => {
      let rest = '';
      const out = (line: string): void => {
        if (line.trim()) report.output(line);
      };
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        const lines = (rest + text).split('\n');
        rest = lines.pop()!;
        for (const line of lines) out(line);
        // A "line" that never ends is still shown, in pieces of at most this much.
        if (rest.length > MAX_LINE) {
          out(rest);
          rest = '';
        }
      });
      return {
        flush() {
          out(rest);
          rest = '';
        },
      };
    };
    const relayed = [relay(child.stdout), relay(child.stderr)];
    child.on('error', (err) => {
      report.failed(`--on-url could not start: ${err.message}`);
      resolve();
    });
    child.on('close', (code, signal) => {
      for (const r of relayed) r.flush();
      if (code !== 0) report.failed(`--on-url command exited with ${signal ?? `code ${code}`} — the platform may still have the old URL`);
      resolve();
    });
  });
}
