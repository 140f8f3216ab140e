// Stake verification as the peer network sees it. The real check is src/chain/stake.ts
// `verifyStake`; this file defines the interface the network depends on (so tests can inject a
// deterministic fake), the adapter to verifyStake, and a TTL cache so that a ping every 3 s does
// not mean a chain query every 3 s: the stake is re-checked once the cached verdict ages out.
import type { ChainSource, Network } from '../chain/types.js';
import { verifyStake } from '../chain/stake.js';
import type { Seniority } from './peer-table.js';

export type StakeVerdict =
  | { valid: true; seniority: Seniority; amount: bigint; rewardAddress: string }
  | { valid: false; reason: string; detail: string };

export interface StakeChecker {
  check(peerId: string, outpoint: string): Promise<StakeVerdict>;
}

export interface ChainStakeOptions {
  minSats: bigint;
  minAgeSeconds: number;
  network: Network;
}

/** StakeChecker over the chain: src/chain/stake.ts verifyStake (confirmed, old enough, unspent, committed to the peer id). */
export function chainStakeChecker(chain: ChainSource, opts: ChainStakeOptions): StakeChecker {
  return {
    async check(peerId, outpoint) {
      const m = /^([0-9a-f]{64}):(\d{1,6})$/.exec(outpoint);
      if (!m) return { valid: false, reason: 'malformed', detail: `stake outpoint ${JSON.stringify(outpoint)} is not txid:vout` };
      const v = await verifyStake(chain, { outpoint: { txid: m[1]!, vout: Number(m[2]) }, peerId, minSats: opts.minSats, minAgeSeconds: opts.minAgeSeconds, network: opts.network });
      return v.valid ? { valid: true, seniority: v.seniority, amount: v.amount, rewardAddress: v.rewardAddress } : { valid: false, reason: v.reason, detail: v.detail };
    },
  };
}

/**
 * Caches verdicts per (peer, outpoint) for `ttlMs` (valid) or `invalidTtlMs` (invalid), and
 * shares one in-flight check between concurrent callers. A thrown error (chain unreachable) is
 * not cached and surfaces as { valid: false, reason: 'unavailable' } so callers can tell it
 * apart from a stake that is really bad (the network ignores such pings instead of blocking).
 */
export class CachedStakeChecker implements StakeChecker {
  private readonly cache = new Map<string, { at: number; verdict: StakeVerdict }>();
  private readonly inflight = new Map<string, Promise<StakeVerdict>>();

  constructor(
    private readonly inner: StakeChecker,
    private readonly ttlMs: number = 60_000,
    private readonly invalidTtlMs: number = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async check(peerId: string, outpoint: string): Promise<StakeVerdict> {
    const key = `${peerId}|${outpoint}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < (hit.verdict.valid ? this.ttlMs : this.invalidTtlMs)) return hit.verdict;
    const running = this.inflight.get(key);
    if (running) return running;
    const p = (async (): Promise<StakeVerdict> => {
      try {
        const verdict = await this.inner.check(peerId, outpoint);
        this.cache.set(key, { at: this.now(), verdict });
        return verdict;
      } catch (e) {
        return { valid: false, reason: 'unavailable', detail: e instanceof Error ? e.message : String(e) };
      } finally {
        this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, p);
    return p;
  }

  invalidate(peerId?: string): void {
    if (peerId === undefined) this.cache.clear();
    else for (const k of this.cache.keys()) if (k.startsWith(`${peerId}|`)) this.cache.delete(k);
  }
}
