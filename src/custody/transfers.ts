// Transfer bookkeeping: where each transfer request stands with respect to the custody
// transactions that pay it, following the best chain.
//
//   pending --(broadcast)--> in-flight(txid) --(tx in a block)--> confirmed(txid, block)
//      ^                        ^    |                                |  (finalityDepth confirmations)
//      |                        |    '--(dropped or conflicted)--> pending      v
//      '------------------------'--(confirming block left the best chain)-- paid(txid, block)
//
// A reorg that disconnects the confirming block takes the transfer back to in-flight: the node
// holds the signed hex and rebroadcasts it (src/custody/custody-chain.ts); only when an input is
// now spent by another transaction is the tx dropped and its transfers pending again, to be paid
// by a later round. Each change of a transfer's state is a row of transfer_history, written in
// the same SQLite transaction as the change, with the block that caused it.
//
// Invariant: a transfer is never in two unconfirmed transactions that could both confirm. A
// transfer already in flight may only move to a transaction that replaces its current one with
// the same inputs (RBF); the two then conflict, so at most one of them confirms.
import type { Db, Migration } from '../store/db.js';
import { MetanodeError } from '../util/errors.js';
import type { Outpoint, ReplaceSpec } from './candidate.js';

export const transferMigrations: Migration[] = [
  {
    id: 'transfers-001-tables',
    sql: `
      CREATE TABLE custody_txs (
        txid             TEXT PRIMARY KEY,
        round_id         INTEGER NOT NULL,
        hex              TEXT NOT NULL,
        inputs           TEXT NOT NULL,
        transfer_ids     TEXT NOT NULL,
        fee_rate         REAL NOT NULL,
        broadcast_height INTEGER NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('unconfirmed','confirmed','dropped','replaced')),
        replaces         TEXT,
        confirmed_height INTEGER,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
      );
      CREATE TABLE transfers (
        request_id TEXT PRIMARY KEY,
        state      TEXT NOT NULL CHECK (state IN ('pending','in-flight','paid')),
        txid       TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX transfers_txid ON transfers(txid);
    `,
  },
  {
    // States follow the best chain: 'confirmed' (in a block, below finality depth) before 'final'
    // / 'paid'. Rows confirmed before this migration were already treated as final: they stay so.
    id: 'transfers-002-best-chain',
    sql: `
      CREATE TABLE custody_txs_v2 (
        txid             TEXT PRIMARY KEY,
        round_id         INTEGER NOT NULL,
        hex              TEXT NOT NULL,
        inputs           TEXT NOT NULL,
        transfer_ids     TEXT NOT NULL,
        fee_rate         REAL NOT NULL,
        broadcast_height INTEGER NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('unconfirmed','confirmed','final','dropped','replaced')),
        replaces         TEXT,
        confirmed_height INTEGER,
        block_hash       TEXT,
        confirmations    INTEGER,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
      );
      INSERT INTO custody_txs_v2 (txid, round_id, hex, inputs, transfer_ids, fee_rate, broadcast_height, state, replaces, confirmed_height, created_at, updated_at)
        SELECT txid, round_id, hex, inputs, transfer_ids, fee_rate, broadcast_height, CASE state WHEN 'confirmed' THEN 'final' ELSE state END,
               replaces, confirmed_height, created_at, updated_at FROM custody_txs;
      DROP TABLE custody_txs;
      ALTER TABLE custody_txs_v2 RENAME TO custody_txs;
      CREATE TABLE transfers_v2 (
        request_id TEXT PRIMARY KEY,
        state      TEXT NOT NULL CHECK (state IN ('pending','in-flight','confirmed','paid')),
        txid       TEXT,
        updated_at INTEGER NOT NULL
      );
      INSERT INTO transfers_v2 SELECT request_id, state, txid, updated_at FROM transfers;
      DROP TABLE transfers;
      ALTER TABLE transfers_v2 RENAME TO transfers;
      CREATE INDEX transfers_txid ON transfers(txid);
      CREATE TABLE transfer_history (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL,
        state      TEXT NOT NULL,
        txid       TEXT,
        block_hash TEXT,
        height     INTEGER,
        reason     TEXT NOT NULL,
        time       INTEGER NOT NULL
      );
      CREATE INDEX transfer_history_request ON transfer_history(request_id, seq);
    `,
  },
];

export type TransferState = 'pending' | 'in-flight' | 'confirmed' | 'paid';
export type CustodyTxState = 'unconfirmed' | 'confirmed' | 'final' | 'dropped' | 'replaced';

export interface TransferRecord {
  requestId: string;
  state: TransferState;
  txid?: string;
  updatedAt: number;
}

export interface CustodyTxRecord {
  txid: string;
  roundId: number;
  hex: string;
  inputs: Outpoint[];
  transferIds: string[];
  feeRate: number;
  broadcastHeight: number;
  state: CustodyTxState;
  replaces?: string;
  confirmedHeight?: number;
  /** The confirming block (states confirmed and final). */
  blockHash?: string;
  /** Confirmations at the last check (state confirmed); frozen once final. */
  confirmations?: number;
}

/** A block on the best chain. */
export interface BlockRef {
  height: number;
  hash: string;
}

/** What caused a change of state: a block (when the chain did) and a sentence. */
export interface Cause {
  blockHash?: string;
  height?: number;
  reason: string;
}

export interface TransferHistoryEntry {
  seq: number;
  requestId: string;
  state: TransferState;
  txid: string | null;
  blockHash: string | null;
  height: number | null;
  reason: string;
  time: number;
}

export interface BroadcastRecord {
  txid: string;
  roundId: number;
  hex: string;
  inputs: Outpoint[];
  transferIds: string[];
  feeRate: number;
  /** Chain tip when broadcast; the RBF clock counts from here. */
  height: number;
  replaces?: string;
  now: number;
}

const key = (o: Outpoint) => `${o.txid}:${o.vout}`;

interface TxRow {
  txid: string;
  round_id: number;
  hex: string;
  inputs: string;
  transfer_ids: string;
  fee_rate: number;
  broadcast_height: number;
  state: CustodyTxState;
  replaces: string | null;
  confirmed_height: number | null;
  block_hash: string | null;
  confirmations: number | null;
}

function toTx(r: TxRow): CustodyTxRecord {
  return {
    txid: r.txid,
    roundId: r.round_id,
    hex: r.hex,
    inputs: JSON.parse(r.inputs) as Outpoint[],
    transferIds: JSON.parse(r.transfer_ids) as string[],
    feeRate: r.fee_rate,
    broadcastHeight: r.broadcast_height,
    state: r.state,
    ...(r.replaces ? { replaces: r.replaces } : {}),
    ...(r.confirmed_height !== null ? { confirmedHeight: r.confirmed_height } : {}),
    ...(r.block_hash !== null ? { blockHash: r.block_hash } : {}),
    ...(r.confirmations !== null ? { confirmations: r.confirmations } : {}),
  };
}

export function getCustodyTx(db: Db, txid: string): CustodyTxRecord | undefined {
  const r = db.prepare('SELECT * FROM custody_txs WHERE txid = ?').get(txid) as TxRow | undefined;
  return r ? toTx(r) : undefined;
}

export function listCustodyTxs(db: Db, state?: CustodyTxState): CustodyTxRecord[] {
  const rows = (state
    ? db.prepare('SELECT * FROM custody_txs WHERE state = ? ORDER BY created_at, txid').all(state)
    : db.prepare('SELECT * FROM custody_txs ORDER BY created_at, txid').all()) as TxRow[];
  return rows.map(toTx);
}

type TransferRow = { request_id: string; state: TransferState; txid: string | null; updated_at: number };
const toTransfer = (r: TransferRow): TransferRecord => ({ requestId: r.request_id, state: r.state, ...(r.txid ? { txid: r.txid } : {}), updatedAt: r.updated_at });

export function getTransfer(db: Db, requestId: string): TransferRecord | undefined {
  const r = db.prepare('SELECT * FROM transfers WHERE request_id = ?').get(requestId) as TransferRow | undefined;
  return r ? toTransfer(r) : undefined;
}

export function listTransfers(db: Db, state?: TransferState): TransferRecord[] {
  const rows = (state
    ? db.prepare('SELECT * FROM transfers WHERE state = ? ORDER BY request_id').all(state)
    : db.prepare('SELECT * FROM transfers ORDER BY request_id').all()) as TransferRow[];
  return rows.map(toTransfer);
}

/** Every change of state of one transfer, oldest first ([] on a database from before the history). */
export function transferHistory(db: Db, requestId: string): TransferHistoryEntry[] {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'transfer_history'").get();
  if (!has) return [];
  const rows = db.prepare('SELECT * FROM transfer_history WHERE request_id = ? ORDER BY seq').all(requestId) as Array<{
    seq: number; request_id: string; state: TransferState; txid: string | null; block_hash: string | null; height: number | null; reason: string; time: number;
  }>;
  return rows.map((r) => ({ seq: r.seq, requestId: r.request_id, state: r.state, txid: r.txid, blockHash: r.block_hash, height: r.height, reason: r.reason, time: r.time }));
}

/**
 * Sets a transfer's state (creating the row if needed) and, when state or txid changed, appends
 * the change to its history. Call inside the transaction that makes the change.
 */
function moveTransfer(db: Db, requestId: string, state: TransferState, txid: string | null, now: number, cause: Cause): void {
  const cur = getTransfer(db, requestId);
  if (cur && cur.state === state && (cur.txid ?? null) === txid) return;
  db.prepare(
    'INSERT INTO transfers (request_id, state, txid, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(request_id) DO UPDATE SET state = excluded.state, txid = excluded.txid, updated_at = excluded.updated_at',
  ).run(requestId, state, txid, now);
  db.prepare('INSERT INTO transfer_history (request_id, state, txid, block_hash, height, reason, time) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    requestId, state, txid, cause.blockHash ?? null, cause.height ?? null, cause.reason, now,
  );
}

/** Transfers that point at `txid` in one of `from`, moved to `to` (pending clears the txid). */
function moveTransfersOf(db: Db, txid: string, from: TransferState[], to: TransferState, now: number, cause: Cause): string[] {
  const rows = db.prepare(`SELECT request_id FROM transfers WHERE txid = ? AND state IN (${from.map(() => '?').join(',')}) ORDER BY request_id`).all(txid, ...from) as Array<{ request_id: string }>;
  for (const r of rows) moveTransfer(db, r.request_id, to, to === 'pending' ? null : txid, now, cause);
  return rows.map((r) => r.request_id);
}

/** Starts tracking a transfer request (idempotent). */
export function trackTransfer(db: Db, requestId: string, now: number): void {
  db.prepare("INSERT INTO transfers (request_id, state, txid, updated_at) VALUES (?, 'pending', NULL, ?) ON CONFLICT(request_id) DO NOTHING").run(requestId, now);
}

/**
 * Records a broadcast custody transaction and moves its transfers to in-flight, atomically.
 * Throws TRANSFER_CONFLICT when a transfer is confirmed or paid, or in flight in a transaction
 * this one does not replace with exactly the same inputs. Recording the same txid twice is a no-op.
 */
export function recordBroadcast(db: Db, b: BroadcastRecord): void {
  db.transaction(() => {
    if (getCustodyTx(db, b.txid)) return;
    const inputs = new Set(b.inputs.map(key));
    let replaced: CustodyTxRecord | undefined;
    if (b.replaces) {
      replaced = getCustodyTx(db, b.replaces);
      if (!replaced) throw new MetanodeError('TRANSFER_CONFLICT', `replaced transaction ${b.replaces} is unknown`);
      if (replaced.state !== 'unconfirmed') throw new MetanodeError('TRANSFER_CONFLICT', `replaced transaction ${b.replaces} is ${replaced.state}`);
      const same = replaced.inputs.length === inputs.size && replaced.inputs.every((o) => inputs.has(key(o)));
      if (!same) throw new MetanodeError('TRANSFER_CONFLICT', 'a replacement must spend exactly the inputs of the transaction it replaces');
      if (b.feeRate <= replaced.feeRate) throw new MetanodeError('TRANSFER_CONFLICT', 'a replacement must pay a higher fee rate');
    }
    for (const id of b.transferIds) {
      const t = getTransfer(db, id);
      if (!t || t.state === 'pending') continue;
      if (t.state === 'paid' || t.state === 'confirmed') throw new MetanodeError('TRANSFER_CONFLICT', `transfer ${id} is already ${t.state} by ${t.txid}`);
      if (!replaced || !isInReplacementFamily(db, t.txid!, replaced.txid))
        throw new MetanodeError('TRANSFER_CONFLICT', `transfer ${id} is in flight in ${t.txid}, which this transaction does not replace`);
    }
    // Any other unconfirmed tx spending one of our inputs would let two payouts race; refuse.
    for (const other of listCustodyTxs(db, 'unconfirmed')) {
      if (other.txid === replaced?.txid) continue;
      if (other.inputs.some((o) => inputs.has(key(o))))
        throw new MetanodeError('TRANSFER_CONFLICT', `inputs already spent by unconfirmed ${other.txid}; replace it explicitly`);
    }
    db.prepare(
      `INSERT INTO custody_txs (txid, round_id, hex, inputs, transfer_ids, fee_rate, broadcast_height, state, replaces, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'unconfirmed', ?, ?, ?)`,
    ).run(b.txid, b.roundId, b.hex, JSON.stringify(b.inputs), JSON.stringify([...b.transferIds].sort()), b.feeRate, b.height, b.replaces ?? null, b.now, b.now);
    if (replaced) db.prepare("UPDATE custody_txs SET state = 'replaced', updated_at = ? WHERE txid = ?").run(b.now, replaced.txid);
    const reason = `broadcast in round ${b.roundId}${replaced ? ` replacing ${replaced.txid}` : ''}`;
    for (const id of [...b.transferIds].sort()) moveTransfer(db, id, 'in-flight', b.txid, b.now, { height: b.height, reason });
  })();
}

/** True when `txid` is `head` or an ancestor it replaced. */
function isInReplacementFamily(db: Db, txid: string, head: string): boolean {
  let cur: string | undefined = head;
  for (let i = 0; cur && i < 1000; i++) {
    if (cur === txid) return true;
    cur = getCustodyTx(db, cur)?.replaces;
  }
  return false;
}

/**
 * A custody tx is in `block` on the best chain: its transfers are confirmed (paid only at
 * finality depth, markFinal); every other tx spending any of its inputs (replaced versions,
 * conflicts) is dropped, and transfers still pointing at those go back to pending unless this tx
 * pays them. A tx already confirmed in another block (a reorg mined it again) moves to `block`.
 * Returns false when nothing changed.
 */
export function markConfirmed(db: Db, txid: string, block: BlockRef, now: number, tipHeight = block.height): boolean {
  return db.transaction(() => {
    const tx = getCustodyTx(db, txid);
    if (!tx) throw new MetanodeError('INVALID_INPUT', `unknown custody transaction ${txid}`);
    if ((tx.state === 'confirmed' || tx.state === 'final') && tx.blockHash === block.hash) return false;
    if (tx.state === 'final' && tx.blockHash === undefined) return false; // final before blocks were tracked
    const confirmations = Math.max(1, tipHeight - block.height + 1);
    db.prepare("UPDATE custody_txs SET state = 'confirmed', confirmed_height = ?, block_hash = ?, confirmations = ?, updated_at = ? WHERE txid = ?").run(
      block.height, block.hash, confirmations, now, txid,
    );
    const cause = { blockHash: block.hash, height: block.height, reason: `${txid} in block ${block.hash} at height ${block.height}` };
    for (const id of tx.transferIds) moveTransfer(db, id, 'confirmed', txid, now, cause);
    const spent = new Set(tx.inputs.map(key));
    for (const other of listCustodyTxs(db)) {
      if (other.txid === txid || other.state === 'confirmed' || other.state === 'final' || other.state === 'dropped') continue;
      if (other.inputs.some((o) => spent.has(key(o)))) dropTx(db, other.txid, now, { ...cause, reason: `conflicts with ${txid}, in block ${block.hash}` });
    }
    return true;
  })();
}

/** Confirmations of a confirmed (not yet final) tx, as of the last look at the chain. */
export function setConfirmations(db: Db, txid: string, confirmations: number): void {
  db.prepare("UPDATE custody_txs SET confirmations = ? WHERE txid = ? AND state = 'confirmed'").run(confirmations, txid);
}

/**
 * The confirmed tx reached finality depth: it is final and the transfers it confirmed are paid.
 * `cause` names the block that gave it the last confirmation needed.
 */
export function markFinal(db: Db, txid: string, confirmations: number, cause: Cause, now: number): string[] {
  return db.transaction(() => {
    const tx = getCustodyTx(db, txid);
    if (!tx || tx.state !== 'confirmed') throw new MetanodeError('INVALID_INPUT', `custody transaction ${txid} is ${tx?.state ?? 'unknown'}, not confirmed`);
    db.prepare("UPDATE custody_txs SET state = 'final', confirmations = ?, updated_at = ? WHERE txid = ?").run(confirmations, now, txid);
    return moveTransfersOf(db, txid, ['confirmed'], 'paid', now, cause);
  })();
}

/**
 * The block that confirmed the tx is no longer on the best chain: the tx is unconfirmed again
 * (its RBF clock restarts at `tipHeight`) and its transfers are in flight in it again. Whether it
 * can still confirm is for the next look at the chain (rebroadcast, or dropped on a conflict).
 * Returns the state it had (confirmed or final: a final one is a finality violation).
 */
export function markReverted(db: Db, txid: string, tipHeight: number, cause: Cause, now: number): CustodyTxState {
  return db.transaction(() => {
    const tx = getCustodyTx(db, txid);
    if (!tx || (tx.state !== 'confirmed' && tx.state !== 'final')) throw new MetanodeError('INVALID_INPUT', `custody transaction ${txid} is ${tx?.state ?? 'unknown'}, not in a block`);
    db.prepare("UPDATE custody_txs SET state = 'unconfirmed', confirmed_height = NULL, block_hash = NULL, confirmations = NULL, broadcast_height = ?, updated_at = ? WHERE txid = ?").run(
      tipHeight, now, txid,
    );
    moveTransfersOf(db, txid, ['confirmed', 'paid'], 'in-flight', now, cause);
    return tx.state;
  })();
}

/**
 * A custody tx this node never recorded (it missed the round's end, or proposed another
 * document) was seen in `block` paying `transferIds`: record it so its transfers are confirmed
 * here too and are never proposed again. Idempotent; false when nothing changed.
 */
export function recordConfirmedCustodyTx(
  db: Db,
  c: { txid: string; roundId?: number; hex: string; inputs: Outpoint[]; transferIds: string[]; block: BlockRef; tipHeight?: number; now: number },
): boolean {
  return db.transaction(() => {
    const known = getCustodyTx(db, c.txid);
    if (!known) {
      db.prepare(
        `INSERT INTO custody_txs (txid, round_id, hex, inputs, transfer_ids, fee_rate, broadcast_height, state, replaces, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 0, ?, 'unconfirmed', NULL, ?, ?)`,
      ).run(c.txid, c.roundId ?? -1, c.hex, JSON.stringify(c.inputs), JSON.stringify([...c.transferIds].sort()), c.block.height, c.now, c.now);
    }
    return markConfirmed(db, c.txid, c.block, c.now, c.tipHeight) || !known;
  })();
}

function dropTx(db: Db, txid: string, now: number, cause: Cause): string[] {
  db.prepare("UPDATE custody_txs SET state = 'dropped', updated_at = ? WHERE txid = ?").run(now, txid);
  return moveTransfersOf(db, txid, ['in-flight'], 'pending', now, cause);
}

/**
 * The tx can never confirm (evicted for good, or an input spent by another transaction): its
 * transfers are pending again. Returns them.
 */
export function markDropped(db: Db, txid: string, now: number, cause: Cause = { reason: 'dropped' }): string[] {
  return db.transaction(() => {
    const tx = getCustodyTx(db, txid);
    if (!tx) throw new MetanodeError('INVALID_INPUT', `unknown custody transaction ${txid}`);
    if (tx.state === 'confirmed' || tx.state === 'final') throw new MetanodeError('INVALID_INPUT', `custody transaction ${txid} is ${tx.state}; it cannot be dropped`);
    return dropTx(db, txid, now, cause);
  })();
}

/**
 * Inputs of unconfirmed custody txs, and of confirmed ones not yet final: a new candidate must
 * not spend them (unless replacing). A confirmed tx's inputs are spent on chain anyway; locking
 * them covers the moment between a reorg that disconnects the tx (its inputs look unspent to the
 * deposit watcher) and this node noticing it, so no round spends them from under a rebroadcast.
 */
export function lockedOutpoints(db: Db): Outpoint[] {
  return [...listCustodyTxs(db, 'unconfirmed'), ...listCustodyTxs(db, 'confirmed')].flatMap((t) => t.inputs);
}

/** Transfers a new candidate must not pay (in flight, confirmed or paid). */
export function excludedTransfers(db: Db): string[] {
  return (db.prepare("SELECT request_id FROM transfers WHERE state != 'pending' ORDER BY request_id").all() as Array<{ request_id: string }>).map((r) => r.request_id);
}

/** Unconfirmed custody txs older than bumpAfterBlocks at this tip, oldest first, as RBF specs. */
export function dueForBump(db: Db, tipHeight: number, bumpAfterBlocks: number): ReplaceSpec[] {
  return listCustodyTxs(db, 'unconfirmed')
    .filter((t) => tipHeight - t.broadcastHeight >= bumpAfterBlocks)
    .sort((a, b) => a.broadcastHeight - b.broadcastHeight || (a.txid < b.txid ? -1 : 1))
    .map((t) => ({ txid: t.txid, inputs: t.inputs, feeRate: t.feeRate, transferIds: t.transferIds }));
}
