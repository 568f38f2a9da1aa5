import { Chalk, type ChalkInstance } from 'chalk';
import type { ReadyInfo } from './printer.js';

/** The keys a terminal user can press while listening (cli/keys.ts acts on them): short for the banner, and in full. */
export const KEYS = 'r replay last · o inspector · c clear · q quit · ? keys';
export const KEYS_HELP = 'r replays the last event · o opens the inspector · c clears the screen · q quits (as ^C) · ? lists these';

/** The lines shown once the listener is up: where it listens, the public URL and where to paste it, and so on. */
export function banner(info: ReadyInfo, c: ChalkInstance = new Chalk({ level: 0 })): string {
  const label = (s: string): string => c.dim(s.padEnd(12));
  const rows = [c.bold(`webhook-listen ${info.version}`)];
  rows.push(`  ${label('Listening')}${info.listenUrl}${info.portNote ? c.yellow(`  (${info.portNote})`) : ''}`);
  const relay = info.relay;
  if (relay && !info.publicUrl && info.tunnel === 'off') {
    rows.push(`  ${label('Public URL')}${c.bold.green(relay.channel)}`);
    rows.push(`  ${label('')}${c.dim(`a relay channel (${relay.kind === 'gosmee' ? 'gosmee' : relay.kind === 'smee' ? 'smee.io' : 'smee.io or gosmee'}): paste it as the webhook URL; events come through the relay`)}`);
  } else if (info.publicUrl) {
    rows.push(`  ${label('Public URL')}${c.bold.green(info.publicUrl)}`);
    rows.push(`  ${label('')}${c.dim("paste it as the webhook URL on the platform's Settings page, or on a channel")}`);
  } else if (info.tunnel === 'opening') rows.push(`  ${label('Public URL')}${c.dim('opening a tunnel…')}`);
  else if (info.tunnel === 'offline') rows.push(`  ${label('Public URL')}${c.yellow('none yet — local only, retrying in the background')}`);
  else rows.push(`  ${label('Public URL')}${c.dim('none (--no-tunnel): only this machine can reach the listener')}`);
  if (relay && (info.publicUrl || info.tunnel !== 'off')) rows.push(`  ${label('Relay')}${relay.channel}`);
  if (info.targets.length === 0) rows.push(`  ${label('Forwarding')}${c.dim('nowhere (add --forward-to http://localhost:3000/…)')}`);
  for (const [i, t] of info.targets.entries()) {
    const only = info.routes?.[t];
    rows.push(`  ${label(i === 0 ? 'Forwarding' : '')}→ ${t}${only ? c.dim(`  (only ${only.join(', ')})`) : ''}${i === 0 && info.passthrough ? c.dim('  (passthrough: the sender gets its answer)') : ''}`);
  }
  if (info.shorthand?.length) rows.push(`  ${label('')}${c.dim(`(webhook-listen ${info.shorthand.join(' ')} is --forward-to ${info.shorthand.join(' --forward-to ')})`)}`);
  if (info.events?.length) rows.push(`  ${label('Events')}${info.events.join(', ')} ${c.dim('(others are stored, not shown or forwarded)')}`);
  if (info.inspectorUrl) rows.push(`  ${label('Inspector')}${info.inspectorUrl}`);
  rows.push(`  ${label('Store')}${info.store}`);
  if (info.keys) rows.push(`  ${label('Keys')}${c.dim(KEYS)}`);
  rows.push(c.dim('Waiting for events… (Ctrl-C to stop)'));
  return rows.join('\n');
}
