export interface OnUrlReport {
  output(line: string): void;
  failed(message: string): void;
}

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
    const relay = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) report.output(line);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('error', (err) => {
      report.failed(`--on-url could not start: ${err.message}`);
      resolve();
    });
    child.on('close', (code, signal) => {
      if (code !== 0) report.failed(`--on-url command exited with ${signal ?? `code ${code}`} — the platform may still have the old URL`);
      resolve();
    });
  });
}
