// The read views of a node's data, built from its stores. Shared by the running node's HTTP API
// (src/node/api.ts) and by the CLI reading a stopped node's data directory (src/node/datadir.ts),
// so both answer with exactly the same shapes.
import type { DepositView, EpochsResponse, ListQuery, PeerView, RoundsQuery, TransferView } from '../api/types.js';
import type { PeerEntry } from '../p2p/peer-table.js';
import type { BlockEntry } from '../p2p/blocklist.js';
import type { Deposit } from '../custody/deposits.js';
import type { StoredRequest } from '../custody/requests.js';
import { getCustodyTx, getTransfer, transferHistory } from '../custody/transfers.js';
import type { EpochStore } from '../epochs/store.js';
import { vaultAddress } from '../crypto/taproot.js';
import { listRounds, readTimeline, type RoundSummary, type Timeline } from '../rounds/roundlog.js';
import type { Db } from '../store/db.js';

export interface PeerSources {
  /** The admitted peers (peer table), any order. */
  table: PeerEntry[];
  /** Active blocklist entries. */
  blocked: BlockEntry[];
  /** Peers with an open connection (none for a stopped node). */
  connected: Iterable<string>;
}

/**
 * One row per known peer: admitted, connected or blocked. `state` is 'blocked', the activity an
 * admitted peer announces in its pings (idle, signing, keygen, ...), or 'connected' for a peer
 * that is connected but not admitted (no valid ping and stake yet).
 */
export function peerViews(s: PeerSources): PeerView[] {
  const connected = new Set(s.connected);
  const blocked = new Map(s.blocked.map((b) => [b.peerId, b]));
  const bySeniority = [...s.table].sort((a, b) => a.seniority.height - b.seniority.height || (a.seniority.txid < b.seniority.txid ? -1 : a.seniority.txid > b.seniority.txid ? 1 : 0));
  const ids = new Set([...bySeniority.map((e) => e.peerId), ...connected, ...blocked.keys()]);
  return [...ids].map((peerId): PeerView => {
    const e = bySeniority.find((x) => x.peerId === peerId);
    const b = blocked.get(peerId);
    const state = b ? 'blocked' : e ? e.state : 'connected';
    const reason = b ? `blocked: ${b.reason}${b.detail ? ` (${b.detail})` : ''}` : e ? null : 'not admitted: no valid ping with a stake yet';
    return {
      peerId,
      state,
      seniority: e ? bySeniority.indexOf(e) : null,
      lastSeen: e?.lastSeen ?? null,
      // A peer is in the table only with a stake that verified; a block withdraws that.
      stake: { outpoint: e?.stakeOutpoint ?? null, sats: e?.amount ?? null, valid: e !== undefined && b === undefined, reason },
      connected: connected.has(peerId),
      admitted: e !== undefined,
      blockedUntil: b?.until ?? null,
      tipHeight: e?.tip ?? null,
      clockOffsetMs: e?.clockOffsetMs ?? null,
    };
  });
}

export function roundsView(db: Db, q: RoundsQuery): RoundSummary[] {
  const all = listRounds(db, q.before === undefined ? q.limit : 1000);
  return (q.before === undefined ? all : all.filter((r) => r.roundId < q.before!)).slice(0, q.limit);
}

export function roundView(db: Db, id: number): Timeline | null {
  const t = readTimeline(db, id);
  return t.round || t.entries.length ? t : null;
}

/**
 * Transfer views newest first; `requests` is walked newest first and only as far as the limit
 * needs; unpaid past expiry reads 'expired'. `history: false` leaves each transfer's history out.
 */
export function transferViews(db: Db, requests: Iterable<StoredRequest>, nowMs: number, q: ListQuery, opts: { finalityDepth: number; history?: boolean }): TransferView[] {
  const out: TransferView[] = [];
  if (q.limit <= 0) return out;
  for (const { record } of requests) {
    const t = getTransfer(db, record.id);
    const expired = record.expiry * 1000 < nowMs;
    const state = t?.state ?? (expired ? 'expired' : 'pending');
    if (q.state && q.state !== state) continue;
    const tx = t?.txid && (t.state === 'confirmed' || t.state === 'paid') ? getCustodyTx(db, t.txid) : undefined;
    const history = opts.history === false ? [] : transferHistory(db, record.id).map(({ state, txid, blockHash, height, reason, time }) => ({ state, txid, blockHash, height, reason, time }));
    out.push({
      request: record, state, txid: t?.txid ?? null, updatedAt: t?.updatedAt ?? null,
      confirmations: tx?.confirmations ?? null, finalityDepth: opts.finalityDepth, blockHash: history.at(-1)?.blockHash ?? null, history,
    });
    if (out.length >= q.limit) break;
  }
  return out;
}

/** The state of every request in the store, counted in SQL (for the metrics; no walk of the records). */
export function transferStateCounts(db: Db, nowMs: number): Map<string, number> {
  const rows = db
    .prepare(
      `SELECT CASE WHEN t.state IS NOT NULL THEN t.state WHEN r.expiry * 1000 < ? THEN 'expired' ELSE 'pending' END AS state, COUNT(*) AS n
       FROM transfer_requests r LEFT JOIN transfers t ON t.request_id = r.id GROUP BY 1`,
    )
    .all(nowMs) as { state: string; n: number }[];
  return new Map(rows.map((r) => [r.state, r.n]));
}

/** Deposits newest first; vault outputs read 'vault-<status>'. */
export function depositViews(deposits: Deposit[], q: ListQuery): DepositView[] {
  return deposits
    .map((d) => ({ d, state: d.kind === 'vault' ? `vault-${d.status}` : d.status }))
    .filter(({ state }) => !q.state || state === q.state)
    .slice(-q.limit)
    .reverse()
    .map(({ d, state }) => ({
      txid: d.txid,
      vout: d.vout,
      valueSats: d.value,
      address: d.address,
      requestId: d.requestId ?? null,
      confirmations: d.confirmations,
      state,
    }));
}

/** The attestation view (seed 003): every record with its signatures and public key material. */
export function epochsView(store: EpochStore): EpochsResponse {
  const current = store.current()?.record.epoch;
  return {
    epochs: store.all().map((e) => ({
      record: e.record,
      signatures: e.signatures,
      status: e.status,
      key: e.key,
      active: e.record.epoch === current,
      vaultAddress: vaultAddress(e.key),
    })),
  };
}

/** Counts by one column, for metrics: { completed: 3, aborted: 1 }. */
export function countBy(db: Db, table: 'rounds' | 'transfers', column: 'status' | 'state'): Record<string, number> {
  const rows = db.prepare(`SELECT ${column} AS k, COUNT(*) AS n FROM ${table} GROUP BY ${column}`).all() as Array<{ k: string; n: number }>;
  return Object.fromEntries(rows.map((r) => [r.k, r.n]));
}
