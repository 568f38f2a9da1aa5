// The floor for any forwarder: a bare node:http reverse proxy (keep-alive, streams piped, nothing recorded or
// printed). Whatever one more loopback hop costs on this machine, this pays it too.
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const target = new URL(process.argv[2]!);
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const server = createServer((req, res) => {
  const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
