// Doppelganger detection, as validator clients have it: a ping signed with our own key that we
// did not send means a second instance runs with our identity, and both would sign (equivocate).
// gossipsub's StrictSign (or, for a mirrored ping, openMirroredPing) has already checked the
// signature, so only a holder of our identity key can produce one. A replay of our own earlier
// ping must not count, or any peer could make us exit: this process's pings are remembered, and
// every earlier process of this data directory wrote each ping's clock to the database before
// publishing it, so its pings are stamped at or before the last clock stored when we started.
// That bound (not the start time) also catches the other instance's pings from the moments just
// before we started, which is all a peer may still hold of it (see ping-mirror.ts).
import type { Db } from '../store/db.js';
import type { Envelope } from './envelope.js';
import type { PingPayload } from './messages/ping.js';

/** How long our own ping clocks are remembered; pings older than a few rounds fail freshness anyway. */
const REMEMBER_MS = 30 * 60_000;

/** Where the clock of the newest ping this data directory sent is kept (p2p_own_ping). */
export interface OwnPingStore {
  lastSent(): number | null;
  recordSent(clock: number): void;
}

export function dbOwnPingStore(db: Db): OwnPingStore {
  const get = db.prepare('SELECT last_clock FROM p2p_own_ping WHERE id = 1');
  const put = db.prepare('INSERT INTO p2p_own_ping (id, last_clock) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET last_clock = MAX(last_clock, excluded.last_clock)');
  return {
    lastSent: () => (get.get() as { last_clock: number } | undefined)?.last_clock ?? null,
    recordSent: (clock) => void put.run(clock),
  };
}

export class DoppelgangerWatch {
  private readonly sent = new Map<number, number>();
  /** Clock of the newest ping an earlier process of this data directory sent (-1: none). */
  private readonly before: number;

  constructor(
    private readonly peerId: string,
    private readonly store: OwnPingStore,
  ) {
    this.before = store.lastSent() ?? -1;
  }

  /** Remembers (and stores, before it goes out) the clock stamp of a ping this process publishes. */
  noteSent(clock: number, now: number): void {
    this.store.recordSent(clock);
    this.sent.set(clock, now);
    for (const [c, at] of this.sent) if (now - at > REMEMBER_MS) this.sent.delete(c);
  }

  /** True when `env` is a ping with our peer id, newer than any earlier process sent, that we did not send. */
  isDoppelganger(env: Envelope<PingPayload>): boolean {
    if (env.from !== this.peerId) return false;
    const clock = env.payload.clock;
    if (clock <= this.before) return false;
    return !this.sent.has(clock);
  }
}
