// Doppelganger detection, as validator clients have it: a ping signed with our own key that we
// did not send means a second instance runs with our identity, and both would sign (equivocate).
// gossipsub's StrictSign has already checked the signature, so only a holder of our identity key
// can produce one; a replay of our own earlier ping (this process's, or the previous process's
// before a restart) must not count, or any peer could make us exit.
import type { Envelope } from './envelope.js';
import type { PingPayload } from './messages/ping.js';

/** How long our own ping clocks are remembered; pings older than a few rounds fail freshness anyway. */
const REMEMBER_MS = 30 * 60_000;

export class DoppelgangerWatch {
  private readonly sent = new Map<number, number>();

  constructor(
    private readonly peerId: string,
    /** When this process started: a ping stamped earlier is a replay of an earlier process. */
    private readonly startedAt: number,
  ) {}

  /** Remembers the clock stamp of a ping this process published. */
  noteSent(clock: number, now: number): void {
    this.sent.set(clock, now);
    for (const [c, at] of this.sent) if (now - at > REMEMBER_MS) this.sent.delete(c);
  }

  /** True when `env` is a ping with our peer id, stamped after our start, that we did not send. */
  isDoppelganger(env: Envelope<PingPayload>): boolean {
    if (env.from !== this.peerId) return false;
    const clock = env.payload.clock;
    if (clock < this.startedAt) return false;
    return !this.sent.has(clock);
  }
}
