import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { closest, strayHint } from './did-you-mean.js';
import { defineHistoryCommands } from './history-commands.js';
import { defineListen } from './listen-command.js';
import { fail, watchStdout } from './signals.js';
import { defineToolCommands } from './tool-commands.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// node:sqlite (the event store) announces itself as experimental on stderr; that one warning, and only it, is ours to hide.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (/SQLite is an experimental feature/.test(text)) return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

watchStdout();
const program = new Command();
defineListen(program, VERSION);
defineHistoryCommands(program);
defineToolCommands(program);

// `webhook-listen evnets` would otherwise be "too many arguments" to the listen command.
const first = process.argv[2];
const commands = program.commands.map((c) => c.name());
if (first === 'help') {
  program.outputHelp();
  process.exit(0);
}
// A port or a URL is the listener's own shorthand for --forward-to (webhook-listen 3000), as is `http 3000`.
const shorthand = first !== undefined && (strayHint(first)?.startsWith('to forward') || ((first === 'http' || first === 'listen') && strayHint(process.argv[3] ?? '')?.startsWith('to forward')));
if (first !== undefined && !first.startsWith('-') && !commands.includes(first) && !shorthand) {
  const hint = strayHint(first);
  const guess = hint ? undefined : closest(first, commands);
  process.stderr.write(`error: unknown command '${first}'${hint ? ` — ${hint}` : guess ? ` — did you mean '${guess}'?` : ''} (see webhook-listen --help)\n`);
  process.exit(2);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  fail(err);
}
