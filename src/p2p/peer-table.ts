// The peers this node currently admits: one row per peer with a valid stake and a recent ping.
// Persisted in SQLite so /v1/status and the CLI can read it; the in-memory map is authoritative
// while the node runs.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Db } from '../store/db.js';
import type { NodeState } from './messages/ping.js';

export interface Seniority {
  height: number;
  txid: string;
}

export interface PeerEntry {
  peerId: string;
  seniority: Seniority;
  stakeOutpoint: string;
  amount: bigint;
  rewardAddress: string;
  state: NodeState;
  lastSeen: number;
  firstSeen: number;
  /** Sender clock minus local receive time of its last ping, ms (includes network latency). */
  clockOffsetMs: number;
  tip: number;
  epoch: number;
  round: number;
  /** Whether the last ping carried a tss_proof that verified. */
  hasProof: boolean;
}

/** Seniority order: oldest stake first (lowest confirmation height), ties by txid, then peer id. */
export function compareSeniority(a: Pick<PeerEntry, 'seniority' | 'peerId'>, b: Pick<PeerEntry, 'seniority' | 'peerId'>): number {
  if (a.seniority.height !== b.seniority.height) return a.seniority.height - b.seniority.height;
  if (a.seniority.txid !== b.seniority.txid) return a.seniority.txid < b.seniority.txid ? -1 : 1;
  return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0;
}

export type ChecksumEntry = Pick<PeerEntry, 'peerId' | 'stakeOutpoint' | 'seniority' | 'rewardAddress'>;

/**
 * sha256 (hex) over the canonical encoding of the participant table: entries sorted by seniority,
 * each encoded as the JSON array [peerId, stakeOutpoint, height, txid, rewardAddress], the whole
 * list as one JSON array. Only stable fields take part, so every node computes the same value for
 * the same set of participants regardless of when it last heard from them.
 */
export function peerTableChecksum(entries: ChecksumEntry[]): string {
  const rows = [...entries]
    .sort(compareSeniority)
    .map((e) => [e.peerId, e.stakeOutpoint, e.seniority.height, e.seniority.txid, e.rewardAddress]);
  return bytesToHex(sha256(new TextEncoder().encode(JSON.stringify(rows))));
}

export class PeerTable {
  private readonly peers = new Map<string, PeerEntry>();

  constructor(private readonly db: Db) {
    for (const r of db.prepare('SELECT * FROM p2p_peers').all() as any[]) {
      this.peers.set(r.peer_id, rowToEntry(r));
    }
  }

  upsert(e: PeerEntry): void {
    this.peers.set(e.peerId, e);
    this.db
      .prepare(
        `INSERT INTO p2p_peers (peer_id, seniority_height, seniority_txid, stake_outpoint, amount, reward_address, state, last_seen, first_seen, clock_offset_ms, tip, epoch, round, has_proof)
         VALUES (@peerId, @height, @txid, @stakeOutpoint, @amount, @rewardAddress, @state, @lastSeen, @firstSeen, @clockOffsetMs, @tip, @epoch, @round, @hasProof)
         ON CONFLICT(peer_id) DO UPDATE SET seniority_height = excluded.seniority_height, seniority_txid = excluded.seniority_txid,
           stake_outpoint = excluded.stake_outpoint, amount = excluded.amount, reward_address = excluded.reward_address, state = excluded.state,
           last_seen = excluded.last_seen, clock_offset_ms = excluded.clock_offset_ms, tip = excluded.tip, epoch = excluded.epoch,
           round = excluded.round, has_proof = excluded.has_proof`,
      )
      .run({
        peerId: e.peerId,
        height: e.seniority.height,
        txid: e.seniority.txid,
        stakeOutpoint: e.stakeOutpoint,
        amount: e.amount.toString(),
        rewardAddress: e.rewardAddress,
        state: e.state,
        lastSeen: e.lastSeen,
        firstSeen: e.firstSeen,
        clockOffsetMs: Math.round(e.clockOffsetMs),
        tip: e.tip,
        epoch: e.epoch,
        round: e.round,
        hasProof: e.hasProof ? 1 : 0,
      });
  }

  remove(peerId: string): boolean {
    this.db.prepare('DELETE FROM p2p_peers WHERE peer_id = ?').run(peerId);
    return this.peers.delete(peerId);
  }

  get(peerId: string): PeerEntry | undefined {
    return this.peers.get(peerId);
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  /** All entries in seniority order. */
  list(): PeerEntry[] {
    return [...this.peers.values()].sort(compareSeniority);
  }

  get size(): number {
    return this.peers.size;
  }

  /** Removes peers not seen since `cutoff` (ms); returns their ids. */
  expire(cutoff: number): string[] {
    const gone: string[] = [];
    for (const e of this.peers.values()) if (e.lastSeen < cutoff) gone.push(e.peerId);
    for (const id of gone) this.remove(id);
    return gone;
  }
}

function rowToEntry(r: any): PeerEntry {
  return {
    peerId: r.peer_id,
    seniority: { height: r.seniority_height, txid: r.seniority_txid },
    stakeOutpoint: r.stake_outpoint,
    amount: BigInt(r.amount),
    rewardAddress: r.reward_address,
    state: r.state,
    lastSeen: r.last_seen,
    firstSeen: r.first_seen,
    clockOffsetMs: r.clock_offset_ms,
    tip: r.tip,
    epoch: r.epoch,
    round: r.round,
    hasProof: r.has_proof === 1,
  };
}
