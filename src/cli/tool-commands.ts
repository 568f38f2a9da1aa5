import { type Command, Option } from 'commander';
import { DEFAULT_INSPECT_PORT } from '../core/defaults.js';
import { collect, forwardTimeout, insecureOf, insecureOption, parsePort, skipVerifyOption } from './options.js';
import { type OutputFlags, commandIO, makePrinter, readData, runCommand, storeOf } from './output.js';
import { fail, stopOnSignals } from './signals.js';

const storeOption = (): Option => new Option('--store <dir>', 'the event store (env WEBHOOK_LISTEN_HOME)');

function sendCommand(program: Command): void {
  program
    .command('send')
    .description("send a realistic event of the inbox platform to your app, no platform needed")
    .argument('[kind]', 'newMessage (default), image, video, document, audio or agent — see --list', 'newMessage')
    .option('--to <url>', 'where to send it (repeatable); 3000 and localhost:3000/hook are shorthands', collect)
    .option('--data <file>', "send this file's bytes instead of a sample (- for stdin)")
    .option('--set <path=value>', 'set a field, e.g. message.contentType=IMAGE (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--list', 'list what can be sent')
    .addOption(forwardTimeout())
    .addOption(insecureOption())
    .addOption(skipVerifyOption())
    .option('--json', 'JSON records instead of lines')
    .option('-v, --verbose', 'print the whole body sent')
    .option('--no-color', 'no colours')
    .addHelpText(
      'after',
      '\nExamples:\n  $ webhook-listen send --to http://localhost:3000/my/webhook/url\n  $ webhook-listen send image --to 3000\n  $ webhook-listen send --to 3000 --set message.contentType=AUDIO --set message.sender.authUser=true',
    )
    .action(async (kind: string, opts: { to?: string[]; data?: string; set?: string[]; list?: boolean; forwardTimeout: number; insecure?: boolean; skipVerify?: boolean } & OutputFlags) => {
      const io = commandIO(opts);
      const { listSamples, sendSample } = await import('../commands/send.js');
      if (opts.list) return listSamples(io);
      const data = opts.data !== undefined ? await readData(opts.data).catch((err: Error) => fail(err, io.printer)) : undefined;
      await runCommand(io, () => sendSample({ kind, to: opts.to ?? [], data, sets: opts.set ?? [], timeoutMs: opts.forwardTimeout, insecure: insecureOf(opts) }, io));
    });
}

function inspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('open the web inspector over the stored events alone (no listener, no tunnel)')
    .option('-p, --port <port>', 'inspector port (default 4040, or the next free one)', parsePort)
    .option('--to <url>', 'where "replay" sends events that had no forward target (repeatable)', collect)
    .addOption(forwardTimeout())
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExample:\n  $ webhook-listen inspect --to http://localhost:3000/my/webhook/url')
    .action(async (opts: { port?: number; to?: string[]; forwardTimeout: number; store?: string } & OutputFlags) => {
      const printer = makePrinter(opts);
      const signals = stopOnSignals(printer);
      const { inspectStore } = await import('../commands/inspect.js');
      let session;
      try {
        session = await inspectStore(
          {
            storeDir: storeOf(opts, program.opts()),
            port: opts.port ?? DEFAULT_INSPECT_PORT,
            portExplicit: opts.port !== undefined,
            to: opts.to ?? [],
            timeoutMs: opts.forwardTimeout,
          },
          printer,
        );
      } catch (err) {
        fail(err, printer);
      }
      signals.attach(session);
    });
}

function relayCommand(program: Command): void {
  const relay = program.command('relay').description('webhook relay channels (smee.io, gosmee) for --relay');
  relay
    .command('new')
    .description('ask a relay server for a new channel, keep it in the store for --relay, and print it')
    .option('--server <url>', 'the relay server: smee.io or your own gosmee', 'https://smee.io')
    .option('--json', 'a JSON record instead of the URL')
    .option('--no-color', 'no colours')
    .addOption(storeOption())
    .addHelpText('after', '\nExamples:\n  $ webhook-listen relay new\n  $ webhook-listen relay new --server https://hook.example.com\n  $ webhook-listen --relay -f 3000')
    .action(async (opts: { server: string; store?: string } & OutputFlags) => {
      const io = commandIO(opts);
      const { newRelayChannel } = await import('../commands/relay.js');
      await runCommand(io, () => newRelayChannel({ server: opts.server, storeDir: storeOf(opts, program.opts()) }, io));
    });
}

/** The commands that run a tool of their own: send, inspect, relay new. */
export function defineToolCommands(program: Command): void {
  sendCommand(program);
  inspectCommand(program);
  relayCommand(program);
}
