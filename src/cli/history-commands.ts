import { type Command, Option } from 'commander';
import { collect, forwardTimeout, insecureOf, insecureOption, parseCount, parseTarget, skipVerifyOption, wholeCount } from './options.js';
import { type OutputFlags, commandIO, runCommand, storeOf } from './output.js';

const storeOption = (): Option => new Option('--store <dir>', 'the event store (env WEBHOOK_LISTEN_HOME)');

function eventsCommand(program: Command): void {
  program
    .command('events')
    .description('list stored events, newest first, with their last delivery status')
    .option('-n, --limit <n>', 'how many to list (0: all)', parseCount, 20)
    .option('--event <name>', 'only events with this name')
    .option('--grep <text>', 'only events whose summary, id or path contains this text')
    .option('--json', 'one JSON record per event (with its deliveries)')
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExamples:\n  $ webhook-listen events --limit 5 --event newMessage\n  $ webhook-listen events --grep "Chidi"')
    .action(async (opts: { limit: number; event?: string; grep?: string; store?: string } & OutputFlags) => {
      const io = commandIO(opts);
      const { listEvents } = await import('../commands/events.js');
      await runCommand(io, () => listEvents({ storeDir: storeOf(opts, program.opts()), limit: opts.limit, event: opts.event, grep: opts.grep }, io));
    });
}

function showCommand(program: Command): void {
  program
    .command('show')
    .description('show one stored event as it was received')
    .argument('<id>', 'the event id, or any unique prefix of it')
    .option('--raw', 'write the exact body bytes to stdout (e.g. > payload.json)')
    .option('--headers', 'include the request headers (with --raw: the whole HTTP request)')
    .option('--json', 'the event as one JSON record')
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExamples:\n  $ webhook-listen show 01m88nnbk5\n  $ webhook-listen show 01m88nnbk5 --raw > payload.json')
    .action(async (id: string, opts: { raw?: boolean; headers?: boolean; store?: string } & OutputFlags) => {
      const io = commandIO(opts);
      const { showEvent } = await import('../commands/show.js');
      await runCommand(io, () => showEvent({ storeDir: storeOf(opts, program.opts()), id, raw: Boolean(opts.raw), headers: Boolean(opts.headers) }, io));
    });
}

function replayCommand(program: Command): void {
  program
    .command('replay')
    .description('send stored events again, byte for byte, with Webhook-Listen-Replay: 1')
    .argument('[ids...]', 'event ids or unique prefixes')
    .option('--last [n]', 'replay the newest n events (default 1; 0 for all)')
    .option('-y, --yes', 'resend without asking, however many events (asked at a terminal past 20)')
    .option('--to <url>', "send here instead of the event's original targets (repeatable)", collect)
    .addOption(forwardTimeout())
    .addOption(insecureOption())
    .addOption(skipVerifyOption())
    .option('--json', 'one JSON delivery record per line')
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExamples:\n  $ webhook-listen replay 01m88nnbk5\n  $ webhook-listen replay --last 3 --to 3000')
    .action(async (ids: string[], opts: { last?: string | true; yes?: boolean; to?: string[]; forwardTimeout: number; store?: string; insecure?: boolean; skipVerify?: boolean } & OutputFlags) => {
      const io = commandIO(opts);
      let last: number | undefined;
      if (opts.last !== undefined) {
        if (opts.last !== true && !/^\d+$/.test(opts.last))
          program.error(`error: --last takes a whole number of events (0 for all of them), not "${opts.last}"`, { exitCode: 2 });
        last = opts.last === true ? 1 : wholeCount(opts.last);
      }
      if (last === undefined && ids.length === 0) program.error('error: replay needs event ids or --last [n]', { exitCode: 2 });
      const { replayEvents } = await import('../commands/replay.js');
      await runCommand(io, () =>
        replayEvents({ storeDir: storeOf(opts, program.opts()), ids, last, to: opts.to ?? [], timeoutMs: opts.forwardTimeout, insecure: insecureOf(opts), yes: Boolean(opts.yes) }, io),
      );
    });
}

function pendingCommand(program: Command): void {
  program
    .command('pending')
    .description('list deliveries still owed: per target, attempts, next try, last error')
    .argument('[ids...]', 'only these events (ids or unique prefixes)')
    .option('--target <url>', 'only deliveries to this target', parseTarget)
    .option('--json', 'one JSON record per delivery')
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExample:\n  $ webhook-listen pending --target http://localhost:3000/my/webhook/url')
    .action(async (ids: string[], opts: { target?: string; store?: string } & OutputFlags) => {
      const io = commandIO(opts);
      const { listPending } = await import('../commands/pending.js');
      await runCommand(io, () => listPending({ storeDir: storeOf(opts, program.opts()), ids, target: opts.target }, io));
    });
}

function cancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('give up on owed deliveries (a running listener drops them within a second)')
    .argument('[ids...]', 'event ids or unique prefixes')
    .option('--all', 'every owed delivery (with --target: every one to that target)')
    .option('--target <url>', 'only deliveries to this target', parseTarget)
    .option('--json', 'one JSON record per cancelled delivery')
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExamples:\n  $ webhook-listen cancel 01m88nnbk5\n  $ webhook-listen cancel --all --target 3000')
    .action(async (ids: string[], opts: { all?: boolean; target?: string; store?: string } & OutputFlags) => {
      const io = commandIO(opts);
      if (ids.length === 0 && !opts.all) program.error('error: cancel needs event ids or --all', { exitCode: 2 });
      const { cancelPending } = await import('../commands/pending.js');
      await runCommand(io, () => cancelPending({ storeDir: storeOf(opts, program.opts()), ids, all: Boolean(opts.all), target: opts.target }, io));
    });
}

function retryCommand(program: Command): void {
  program
    .command('retry')
    .description('try owed deliveries now instead of waiting for their next retry')
    .argument('<ids...>', 'event ids or unique prefixes')
    .option('--target <url>', 'only deliveries to this target', parseTarget)
    .option('--json', 'one JSON record per delivery')
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExample:\n  $ webhook-listen retry 01m88nnbk5')
    .action(async (ids: string[], opts: { target?: string; store?: string } & OutputFlags) => {
      const io = commandIO(opts);
      const { retryPending } = await import('../commands/pending.js');
      await runCommand(io, () => retryPending({ storeDir: storeOf(opts, program.opts()), ids, target: opts.target }, io));
    });
}

/** `store check` and `store recover`: one definition, two commands. */
const STORE_ACTIONS = {
  check: { about: "SQLite's integrity check of the store; exit 1 when it is damaged", after: '' },
  recover: {
    about: 'copy every readable event and delivery into a new store, rebuild what is owed, keep the damaged file aside',
    after: '\nStop every webhook-listen on the store first.\n\nExample:\n  $ webhook-listen store recover --store ~/.local/state/webhook-listen',
  },
} as const;

function storeCommand(program: Command): void {
  const store = program.command('store').description('check the event store, or recover what is readable from a damaged one');
  for (const [name, { about, after }] of Object.entries(STORE_ACTIONS))
    store
      .command(name)
      .description(about)
      .option('--no-color', 'no colours')
      .addOption(storeOption())
      .addHelpText('after', after)
      .action(async (opts: { store?: string } & OutputFlags) => {
        const io = commandIO(opts);
        const { checkStore, recoverStore } = await import('../commands/store.js');
        const run = name === 'check' ? checkStore : recoverStore;
        await runCommand(io, () => run({ storeDir: storeOf(opts, program.opts()) }, io));
      });
}

/** The commands over the store: events, show, replay, pending, cancel, retry (declarative, one each). */
export function defineHistoryCommands(program: Command): void {
  eventsCommand(program);
  showCommand(program);
  replayCommand(program);
  pendingCommand(program);
  cancelCommand(program);
  retryCommand(program);
  storeCommand(program);
}
