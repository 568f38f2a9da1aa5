// The limit: a bare node:http server that reads the body and answers 200. With `count` after the port (the app
// behind a tunnel or a forward target), it also counts the POSTs it answered and tells the count at GET /count:
// what the bench reads to know how many events reached the app, not only how many the listener took in.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let posts = 0;
const counting = process.argv[3] === 'count';
const server = createServer(
  counting
    ? (req, res) => {
        if (req.method === 'GET' && req.url === '/count') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(String(posts));
          return;
        }
        req.resume();
        req.on('end', () => {
          posts++;
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('ok');
        });
      }
    : (req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('ok');
        });
      },
);
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
