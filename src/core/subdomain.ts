/**
 * The one rule for a tunnel name: what the localtunnel server accepts (`^(?:[a-z0-9][a-z0-9-]{4,63}[a-z0-9]|
 * [a-z0-9]{4,63})$`, so `ab-cd` is refused) and a DNS label can hold (at most 63 characters, where the server's
 * pattern takes 65).
 */
export const SUBDOMAIN_RE = /^(?:[a-z0-9][a-z0-9-]{4,61}[a-z0-9]|[a-z0-9]{4,63})$/;

const ADJECTIVES = 'amber brave bright calm clever cosy crisp daring eager fair gentle glad happy jolly keen kind lively lucky merry mellow neat nimble proud quick quiet rapid sunny swift tidy vivid warm witty'.split(' ');
const ANIMALS = 'badger beaver bison crane dolphin eagle falcon ferret finch fox gecko heron ibis koala lemur lynx marten moose newt otter owl panda puffin quail raven robin seal stoat swan tapir walrus wombat'.split(' ');

/** A readable random subdomain such as `quiet-otter-4821` (always within SUBDOMAIN_RE). */
export function readableSubdomain(random: () => number = Math.random): string {
  const pick = (list: string[]): string => list[Math.floor(random() * list.length)]!;
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${String(Math.floor(random() * 10_000)).padStart(4, '0')}`;
}
