// Per-peer, per-topic gossip rate limits: a token bucket per (direct peer, topic). A peer that
// sends more than its rate has the excess ignored (not relayed, not processed) and earns a
// penalty that lowers its gossipsub score (app-specific score) and decays over time, so a
// flooding neighbour is pruned from the mesh and eventually graylisted while honest neighbours,
// which relay at most what they accepted themselves, stay far below the limit.

export interface RateLimitOptions {
  /** Sustained messages per second per (peer, topic). */
  perSecond: number;
  /** Bucket size: the burst a peer may send at once. */
  burst: number;
  now?: () => number;
  /** Score lost per message over the limit (the app-specific weight is 1). */
  penaltyPerExcess?: number;
  /** Half-life of the penalty, ms. */
  penaltyHalfLifeMs?: number;
  /** Buckets idle this long are dropped (bounded memory whatever the number of peers), ms. */
  idleMs?: number;
}

export class GossipRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly penalties = new Map<string, { value: number; at: number }>();
  private readonly now: () => number;
  private lastPrune = 0;

  constructor(private readonly o: RateLimitOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Takes one token for a message from `peer` on `topic`; false when over the limit (penalised). */
  allow(peer: string, topic: string): boolean {
    const now = this.now();
    this.prune(now);
    const k = `${peer}\u0000${topic}`;
    const b = this.buckets.get(k) ?? { tokens: this.o.burst, at: now };
    b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
    b.at = now;
    this.buckets.set(k, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    this.penalties.set(peer, { value: this.penaltyOf(peer, now) + (this.o.penaltyPerExcess ?? 1), at: now });
    return false;
  }

  /** The (non-positive) app-specific score for `peer`. */
  score(peer: string): number {
    return 0 - this.penaltyOf(peer, this.now()) || 0;
  }

  private penaltyOf(peer: string, now: number): number {
    const p = this.penalties.get(peer);
    if (!p) return 0;
    return p.value * Math.pow(0.5, (now - p.at) / (this.o.penaltyHalfLifeMs ?? 60_000));
  }

  private prune(now: number): void {
    const idle = this.o.idleMs ?? 120_000;
    if (now - this.lastPrune < idle / 4) return;
    this.lastPrune = now;
    for (const [k, b] of this.buckets) if (now - b.at > idle) this.buckets.delete(k);
    for (const [peer] of this.penalties) if (this.penaltyOf(peer, now) < 0.01) this.penalties.delete(peer);
  }
}
