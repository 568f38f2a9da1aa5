/** Defaults in one place: the CLI shows them in its help, the parts fall back to them. */
export const DEFAULT_PORT = 7070;
export const DEFAULT_INSPECT_PORT = 4040;
export const DEFAULT_TUNNEL_HOST = 'https://localtunnel.me';
/** How many ports after a busy default are tried, by the listener and by the inspector. */
export const PORT_TRIES = 20;
