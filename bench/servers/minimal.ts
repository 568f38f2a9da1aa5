// A hand-written receiver doing what a webhook receiver must: read the body, parse the JSON, append it to a file
// (one line), print one line, answer 200. What webhook-listen's cost per event is compared with.
import { appendFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const log = join(mkdtempSync(join(tmpdir(), 'wl-minimal-')), 'events.ndjson');
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let name = '?';
    try {
      name = String((JSON.parse(body.toString('utf8')) as { event?: string }).event ?? '?');
    } catch {
      // Not JSON: still kept.
    }
    appendFileSync(log, JSON.stringify({ at: new Date().toISOString(), headers: req.rawHeaders, body: body.toString('utf8') }) + '\n');
    process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${name}  ${body.length} B\n`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
