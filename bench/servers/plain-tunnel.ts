// The plain localtunnel client, as `lt` would run it: tunnel host and local port from argv; prints the URL.
import localtunnel from '@n8n/localtunnel';

const [host, port] = process.argv.slice(2);
const tunnel = await localtunnel({ port: Number(port), host });
tunnel.on('error', () => undefined);
console.log(`url ${tunnel.url}`);
