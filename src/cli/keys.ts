import { KEYS_HELP } from '../format/banner.js';
import type { Printer } from '../format/printer.js';
import type { ListenSession } from '../listen/options.js';

/** Whether single keys can act while listening: stdin is a terminal, and the output is for a person. */
export const keysWanted = (json: boolean): boolean => Boolean(process.stdin.isTTY) && !json && typeof process.stdin.setRawMode === 'function';

/** Opens a URL in the user's browser; false when no opener could be started. */
function openInBrowser(url: string): Promise<boolean> {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  return new Promise((resolve) => {
    const child = process.getBuiltinModule('node:child_process').spawn(command, [url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

/**
 * Keys while listening, as `hookdeck listen` users expect: r replays the last event, o opens the inspector, c clears
 * the screen, q quits (as ^C), ? lists them. Raw mode turns ^C and ^Z into bytes: they are sent on as the signals.
 */
export function listenToKeys(session: ListenSession, printer: Printer): void {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  process.on('SIGCONT', () => stdin.setRawMode(true));
  const act: Record<string, () => void | Promise<void>> = {
    '\u0003': () => void process.kill(process.pid, 'SIGINT'),
    '\u001a': () => {
      stdin.setRawMode(false);
      process.kill(process.pid, 'SIGTSTP');
    },
    q: () => void process.kill(process.pid, 'SIGINT'),
    r: () => session.replayLast(),
    o: async () => {
      const url = session.inspectorUrl;
      if (!url) return printer.info('the inspector is off (--no-inspect)');
      if (!(await openInBrowser(url))) printer.info(`open ${url} in a browser`);
    },
    c: () => void process.stdout.write('\u001b[2J\u001b[3J\u001b[H'),
    '?': () => printer.info(`keys: ${KEYS_HELP}`),
    '\r': () => void process.stdout.write('\n'),
  };
  stdin.on('data', (text: string) => {
    for (const key of text) {
      const action = act[key] ?? act[key.toLowerCase()];
      if (!action) continue;
      Promise.resolve(action()).catch((err: unknown) => printer.error((err as Error).message, err));
    }
  });
}
