// A minimal Express receiver, like the platform's own example: parse the JSON body, answer 200.
import express from 'express';
import type { AddressInfo } from 'node:net';

const app = express();
app.use(express.json({ limit: '10mb' }));
app.post('/my/webhook/url', (req, res) => {
  const event = req.body as unknown;
  void event;
  res.sendStatus(200);
});
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
