// In-memory harness for the custody round: N nodes, each a SigningRoundDriver over its own
// in-memory SQLite, connected by a FIFO "gossip" queue. Keys come from the real DKG
// (src/crypto/dkg.ts); the candidate is built from a shared view with real deposit tweaks.
// The clock only moves when the queue is empty: it jumps to the earliest deadline and ticks
// every node, so timeouts are exercised without waiting.
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { dkgFinish, dkgRound2, dkgStart } from '../../../src/crypto/dkg.js';
import { createTssProof } from '../../../src/crypto/proof.js';
import { identifierAt, defaultThreshold } from '../../../src/crypto/identifiers.js';
import { addressFromScript, depositTweak, scriptPubKeyFor } from '../../../src/crypto/taproot.js';
import type { EpochKey, KeyShare } from '../../../src/crypto/types.js';
import type { CandidateParams, CandidateView } from '../../../src/custody/candidate.js';
import { openDb, type Db } from '../../../src/store/db.js';
import { roundLogMigrations } from '../../../src/rounds/roundlog.js';
import { transferMigrations, trackTransfer } from '../../../src/custody/transfers.js';
import { signedSessionMigrations } from '../../../src/rounds/signing/sessions.js';
import { SigningRoundDriver, defaultRoundDeps } from '../../../src/rounds/signing/driver.js';
import { DEFAULT_TIMEOUTS, type Participant, type RoundConfig, type RoundDeps } from '../../../src/rounds/signing/types.js';
import { signOutgoing } from '../../../src/rounds/signing/signed.js';

export interface KeySet {
  key: EpochKey;
  shares: Record<string, KeyShare>; // by peer id
  peers: string[]; // seniority order
}

const keyCache = new Map<string, KeySet>();

/** Runs the real DKG among `n` simulated peers (cached per n). */
export function dkgKeys(n: number, epoch = 1): KeySet {
  const cacheKey = `${n}/${epoch}`;
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  const peers = Array.from({ length: n }, (_, i) => `peer${String.fromCharCode(65 + i)}`);
  const threshold = defaultThreshold(n);
  const starts = peers.map((self) => dkgStart({ self, committee: peers, threshold, epoch, network: 'regtest' }));
  const round1 = starts.map((s) => s.round1);
  const r2 = starts.map((s) => dkgRound2(s.session, round1)).flat();
  const shares: Record<string, KeyShare> = {};
  let key: EpochKey | undefined;
  starts.forEach((s, i) => {
    const me = identifierAt(i);
    const out = dkgFinish(s.session, round1, r2.filter((p) => p.to === me));
    shares[peers[i]!] = out.share;
    key ??= out.key;
  });
  const ks = { key: key!, shares, peers };
  keyCache.set(cacheKey, ks);
  return ks;
}

/** The same key and shares under another epoch number, as a regroup that kept the key would leave them (ledger tests). */
export function atEpoch(ks: KeySet, epoch: number): KeySet {
  return { key: { ...ks.key, epoch }, shares: Object.fromEntries(Object.entries(ks.shares).map(([p, s]) => [p, { ...s, epoch }])), peers: ks.peers };
}

const addr = (n: number) => addressFromScript('5120' + bytesToHex(schnorr.getPublicKey(hexToBytes(n.toString(16).padStart(64, '0')))), 'regtest');
const txid = (n: number) => n.toString(16).padStart(64, '0');

export const ROUND_ID = 1000;
export const BOUNDARY = 60_000;
export const ROUND_START = ROUND_ID * BOUNDARY;

export const PARAMS: CandidateParams = {
  minConfirmations: 1, replicationDelayMs: 5_000, transferFee: 1_000n, feeRateMin: 1, feeRateMax: 100,
};

/** A view with two transfers (deposits to their tweaked addresses), one vault UTXO, and rewards. */
export function standardView(ks: KeySet, transfers: Array<{ id: string; amount: bigint }> = [{ id: 'req-1', amount: 60_000n }, { id: 'req-2', amount: 25_000n }]): CandidateView {
  const { key } = ks;
  return {
    key, roundId: ROUND_ID, roundStartMs: ROUND_START, anchorHeight: 200, feeRate: 3,
    requests: transfers.map((t, i) => ({
      id: t.id, amount: t.amount, destination: addr(500 + i), refundAddress: addr(600 + i), createdAt: ROUND_START - 60_000, expiresAt: ROUND_START + 3_600_000,
    })),
    deposits: transfers.map((t, i) => ({
      txid: txid(10 + i), vout: 1, value: t.amount, height: 190, requestId: t.id, scriptPubKey: scriptPubKeyFor(key, depositTweak(key, t.id)),
    })),
    vaultUtxos: [{ txid: txid(99), vout: 0, value: 500_000n, height: 150, scriptPubKey: scriptPubKeyFor(key) }],
    peers: ks.peers.map((p, i) => ({ peerId: p, rewardAddress: addr(700 + i) })),
  };
}

export interface Sent {
  from: string;
  type: string;
  payload: unknown;
  /** Only these peers receive it (default: everyone else). */
  to?: string[];
  /** Already forwarded once (gossip model). */
  forwarded?: boolean;
}

export interface HarnessOptions {
  n?: number;
  /** Per node: the view it builds from (default: standardView for everyone). */
  viewFor?: (peer: string, ks: KeySet) => CandidateView;
  /** Rewrite or drop (return null) a node's outgoing message (before the node signs it). */
  outFilter?: (m: Sent) => unknown | null;
  /**
   * Send different bodies to different peers (each signed by the sender, as a Byzantine node with
   * its own key would): return the parts, or undefined to send the message normally.
   */
  split?: (m: Sent) => Array<{ to: string[]; payload: unknown }> | undefined;
  /**
   * Gossip forwarding as gossipsub does it: a message sent to some peers reaches the rest one hop
   * later (after what is already queued).
   */
  forward?: boolean;
  /** Per node: override the tss_proof it puts in its proposal. */
  proofFor?: (peer: string, proofs: Record<string, string>) => string;
  /** Per node: override the proof verifier. */
  verifierFor?: (peer: string) => RoundDeps['verifyTssProof'];
  /** Nodes whose DB already holds a signed session (restart tests). */
  dbFor?: (peer: string) => Db;
  /** Peers that never start (offline). */
  offline?: string[];
  /** Per node: extra round config (e.g. its ping anchor and scanned tip). */
  cfgFor?: (peer: string) => Partial<RoundConfig>;
  /** Round id (default ROUND_ID); the clock starts a second into it. */
  roundId?: number;
  /** The key set (default dkgKeys(n)). */
  keys?: KeySet;
}

export class Harness {
  readonly ks: KeySet;
  readonly drivers = new Map<string, SigningRoundDriver>();
  readonly dbs = new Map<string, Db>();
  readonly blocked = new Map<string, Array<{ peer: string; code: string; reason: string }>>();
  readonly broadcasts = new Map<string, string[]>();
  readonly wire: Sent[] = [];
  private queue: Sent[] = [];
  readonly roundId: number;
  now: number;

  constructor(private readonly opts: HarnessOptions = {}) {
    this.ks = opts.keys ?? dkgKeys(opts.n ?? 5);
    this.roundId = opts.roundId ?? ROUND_ID;
    this.now = this.roundId * BOUNDARY + 1_000;
  }

  get threshold(): number {
    return this.ks.key.threshold;
  }

  participants(): Participant[] {
    return this.ks.peers.map((p, i) => {
      const id = identifierAt(i);
      return { peerId: p, identifier: id, verifyingShare: this.ks.key.verifyingShares[id]! };
    });
  }

  start(): this {
    const { ks } = this;
    const participants = this.participants();
    const proofs: Record<string, string> = {};
    for (const p of ks.peers) proofs[p] = createTssProof(ks.shares[p]!, { network: 'regtest', epoch: ks.key.epoch, peerId: p, round: this.roundId });
    for (const peer of ks.peers) {
      if (this.opts.offline?.includes(peer)) continue;
      const db = this.opts.dbFor?.(peer) ?? openDb(':memory:', [...roundLogMigrations, ...transferMigrations, ...signedSessionMigrations]);
      this.dbs.set(peer, db);
      const view = this.opts.viewFor?.(peer, ks) ?? standardView(ks);
      for (const r of view.requests) trackTransfer(db, r.id, this.now);
      const cfg: RoundConfig = {
        network: 'regtest', epoch: ks.key.epoch, roundId: this.roundId, self: peer, key: ks.key, share: ks.shares[peer]!,
        threshold: ks.key.threshold, participants, tssProof: this.opts.proofFor?.(peer, proofs) ?? proofs[peer]!, timeouts: DEFAULT_TIMEOUTS,
        ...this.opts.cfgFor?.(peer),
      };
      const std = defaultRoundDeps(view, PARAMS, cfg);
      const deps: RoundDeps = { ...std, verifyTssProof: this.opts.verifierFor?.(peer) ?? std.verifyTssProof };
      this.blocked.set(peer, []);
      this.broadcasts.set(peer, []);
      const driver = new SigningRoundDriver(
        {
          db,
          now: () => this.now,
          publish: (type, payload) => {
            const m = { from: peer, type, payload };
            const sign = (p: unknown) => this.signAs(peer, type, p);
            const parts = this.opts.split?.(m);
            if (parts) {
              for (const part of parts) this.inject({ from: peer, type, payload: sign(part.payload), to: part.to });
              return;
            }
            const out = this.opts.outFilter ? this.opts.outFilter(m) : payload;
            if (out === null) return;
            this.inject({ from: peer, type, payload: sign(out) });
          },
          broadcastTx: async (hex) => {
            this.broadcasts.get(peer)!.push(hex);
            return 'ok';
          },
          block: (p, code, reason) => this.blocked.get(peer)!.push({ peer: p, code, reason }),
          tipHeight: () => 200,
        },
        cfg,
        deps,
      );
      this.drivers.set(peer, driver);
    }
    return this;
  }

  /** Delivers messages (each to every other node) and advances the clock until all rounds end. */
  run(maxSteps = 100_000): this {
    for (let i = 0; i < maxSteps; i++) {
      const m = this.queue.shift();
      if (m) {
        for (const [peer, d] of this.drivers) if (peer !== m.from && (!m.to || m.to.includes(peer))) d.message(m.from, m.type, structuredClone(m.payload));
        if (m.to && this.opts.forward && !m.forwarded) {
          const rest = [...this.drivers.keys()].filter((p) => p !== m.from && !m.to!.includes(p));
          if (rest.length) this.queue.push({ ...m, to: rest, forwarded: true });
        }
        continue;
      }
      const live = [...this.drivers.values()].filter((d) => !d.done);
      if (live.length === 0) return this;
      const next = Math.min(...live.map((d) => d.state.deadline));
      this.now = Math.max(this.now, next);
      for (const d of this.drivers.values()) d.tick();
    }
    return this;
  }

  /** Waits for every chain broadcast started by the drivers. */
  async settled(): Promise<void> {
    await Promise.all([...this.drivers.values()].map((d) => d.settled()));
  }

  /** A body signed with `peer`'s share for this round (the harness's roundId), as that node would send it. */
  signAs(peer: string, type: string, payload: unknown): unknown {
    return signOutgoing(this.ks.shares[peer]!, { network: 'regtest', epoch: this.ks.key.epoch, peerId: peer, round: this.roundId }, type, payload);
  }

  /** Puts an extra message on the wire as if `from` had published it (sign it with signAs first). */
  inject(m: Sent): void {
    this.wire.push(m);
    this.queue.push(m);
  }

  state(peer: string) {
    return this.drivers.get(peer)!.state;
  }
}
