// The simulated network: per-link one-way latency (half the RTT plus uniform jitter), loss as
// TCP sees it (a lost segment costs a retransmission timeout, repeatedly with the loss
// probability: the streams are reliable, loss is delay), a serialization delay per byte, link
// cuts for virtual intervals (a message sent over a cut link is gone: the connection dropped),
// and a clock skew per node. Every draw comes from the run's Prng, in event order.
import { Prng } from '../util/prng.js';

export interface NetConfig {
  rttMs: number;
  /** Full width of the uniform jitter added to each one-way delay (±jitterMs/2). */
  jitterMs: number;
  /** Probability that a transmission is lost and retransmitted after rtoMs. */
  loss: number;
  rtoMs: number;
  /** Link bandwidth for the serialization delay (bits per second). */
  bandwidthBps: number;
  /** Largest clock offset of a node, ± (virtual ms). */
  maxSkewMs: number;
}

export const DEFAULT_NET: NetConfig = { rttMs: 100, jitterMs: 20, loss: 0.01, rtoMs: 200, bandwidthBps: 100_000_000, maxSkewMs: 200 };

/** Links a and b cannot reach each other (both ways) during [from, to). */
export interface Partition {
  a: string;
  b: string;
  from: number;
  to: number;
}

export class NetModel {
  readonly skew = new Map<string, number>();
  readonly partitions: Partition[] = [];
  lost = 0;
  retransmits = 0;

  constructor(readonly cfg: NetConfig, private readonly prng: Prng) {
    if (!(cfg.rttMs >= 0) || !(cfg.jitterMs >= 0) || cfg.jitterMs > cfg.rttMs) throw new Error('sim: need 0 <= jitter <= rtt');
    if (!(cfg.loss >= 0 && cfg.loss < 1)) throw new Error('sim: loss must be in [0, 1)');
  }

  /** Draws each node's clock offset (call once, nodes in a fixed order). */
  assignSkew(nodes: readonly string[]): void {
    for (const n of nodes) this.skew.set(n, this.cfg.maxSkewMs ? this.prng.range(-this.cfg.maxSkewMs, this.cfg.maxSkewMs) : 0);
  }

  cut(p: Partition): void {
    this.partitions.push(p);
  }

  isCut(a: string, b: string, at: number): boolean {
    return this.partitions.some((p) => ((p.a === a && p.b === b) || (p.a === b && p.b === a)) && at >= p.from && at < p.to);
  }

  /** Virtual ms until a message of `bytes` sent at `at` reaches `to`; null when the link is cut. */
  delay(from: string, to: string, bytes: number, at: number): number | null {
    if (this.isCut(from, to, at)) {
      this.lost++;
      return null;
    }
    let d = this.cfg.rttMs / 2 + (this.prng.next() - 0.5) * this.cfg.jitterMs + (bytes * 8 * 1000) / this.cfg.bandwidthBps;
    while (this.cfg.loss > 0 && this.prng.chance(this.cfg.loss)) {
      this.retransmits++;
      d += this.cfg.rtoMs;
    }
    return Math.max(0, Math.round(d));
  }
}
