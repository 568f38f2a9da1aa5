import type { TestContext } from 'node:test';
import { runCli, tempDir, type Cli, type JsonRecord } from './cli.js';
import { startApp, type RecordingApp } from './app.js';
import { send, type Reply } from './http.js';
import { hostFor, startLtServer, tunnelId, type LtServer, type LtServerOptions } from './lt-server.js';

/** The CLI behind the localtunnel fixture, forwarding to a recording app; all of it torn down after the test. */
export interface TunnelScene {
  /** The fixture now (restart() replaces it on the same port). */
  server: LtServer;
  readonly app: RecordingApp;
  readonly cli: Cli;
  readonly store: string;
  readonly ready: JsonRecord;
  /** The tunnel id of the first public URL. */
  readonly id: string;
  /** A POST through the fixture's public port, routed to tunnel `id` by the Host header. */
  postThrough(path: string, body: Buffer, opts?: { id?: string; timeoutMs?: number }): Promise<Reply>;
  /** Stops the fixture and starts a new one on the same port. */
  restart(options?: Omit<LtServerOptions, 'port'>): Promise<LtServer>;
}

export async function startTunnelScene(
  t: TestContext,
  opts: { args?: string[]; env?: Record<string, string>; forward?: boolean; inspect?: boolean } = {},
): Promise<TunnelScene> {
  const server = await startLtServer();
  const app = await startApp();
  const { dir, cleanup } = tempDir();
  const forward = opts.forward === false ? [] : ['-f', app.url];
  const inspect = opts.inspect ? ['--inspect-port', '0'] : ['--no-inspect'];
  const cli = runCli(['--json', '--port', '0', ...inspect, '--store', dir, '--tunnel-host', server.url, ...forward, ...(opts.args ?? [])], opts.env);
  const scene = { server } as TunnelScene;
  t.after(async () => {
    await cli.stop('SIGKILL');
    await scene.server.stop();
    await app.close();
    cleanup();
  });
  const ready = await cli.waitForRecord((r) => r.type === 'ready' && r.publicUrl, 'ready with a public URL');
  const id = tunnelId(ready.publicUrl);
  return Object.assign(scene, {
    app,
    cli,
    store: dir,
    ready,
    id,
    postThrough(path: string, body: Buffer, o: { id?: string; timeoutMs?: number } = {}) {
      const headers = { host: hostFor(o.id ?? id, scene.server), 'content-type': 'application/json' };
      return send(`${scene.server.url}${path}`, { body, headers, timeoutMs: o.timeoutMs ?? 10_000 });
    },
    async restart(options: Omit<LtServerOptions, 'port'> = {}) {
      const port = scene.server.port;
      await scene.server.stop();
      scene.server = await startLtServer({ ...options, port });
      return scene.server;
    },
  });
}
