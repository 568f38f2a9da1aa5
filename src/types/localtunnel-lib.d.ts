// The localtunnel client's Tunnel class, imported on its own so that its data plane can be replaced (src/tunnel.ts).
declare module '@n8n/localtunnel/lib/Tunnel.js' {
  const Tunnel: unknown;
  export default Tunnel;
}
