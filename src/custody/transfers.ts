// Transfer bookkeeping: where each transfer request stands with respect to the custody
// transactions that pay it.
//
//   pending --(its custody tx is broadcast)--> in-flight(txid) --(tx confirms)--> paid(txid)
//      ^------------------(tx dropped or conflicted)-------------'
//
// Invariant: a transfer is never in two unconfirmed transactions that could both confirm. A
// transfer already in flight may only move to a transaction that replaces its current one with
// the same inputs (RBF); the two then conflict, so at most one of them confirms.
import type { Db, Migration } from '../store/db.js';
import type { ChainSource } from '../chain/types.js';
import { MetanodeError, errorMessage, isMetanodeError } from '../util/errors.js';
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
];

export type TransferState = 'pending' | 'in-flight' | 'paid';
export type CustodyTxState = 'unconfirmed' | 'confirmed' | 'dropped' | 'replaced';

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

export function getTransfer(db: Db, requestId: string): TransferRecord | undefined {
  const r = db.prepare('SELECT * FROM transfers WHERE request_id = ?').get(requestId) as
    | { request_id: string; state: TransferState; txid: string | null; updated_at: number }
    | undefined;
  return r ? { requestId: r.request_id, state: r.state, ...(r.txid ? { txid: r.txid } : {}), updatedAt: r.updated_at } : undefined;
}

export function listTransfers(db: Db, state?: TransferState): TransferRecord[] {
  const rows = (state
    ? db.prepare('SELECT * FROM transfers WHERE state = ? ORDER BY request_id').all(state)
    : db.prepare('SELECT * FROM transfers ORDER BY request_id').all()) as Array<{ request_id: string; state: TransferState; txid: string | null; updated_at: number }>;
  return rows.map((r) => ({ requestId: r.request_id, state: r.state, ...(r.txid ? { txid: r.txid } : {}), updatedAt: r.updated_at }));
}

/** Starts tracking a transfer request (idempotent). */
export function trackTransfer(db: Db, requestId: string, now: number): void {
  db.prepare("INSERT INTO transfers (request_id, state, txid, updated_at) VALUES (?, 'pending', NULL, ?) ON CONFLICT(request_id) DO NOTHING").run(requestId, now);
}

/**
 * Records a broadcast custody transaction and moves its transfers to in-flight, atomically.
 * Throws TRANSFER_CONFLICT when a transfer is paid, or in flight in a transaction this one does
 * not replace with exactly the same inputs. Recording the same txid twice is a no-op.
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
      if (t.state === 'paid') throw new MetanodeError('TRANSFER_CONFLICT', `transfer ${id} is already paid by ${t.txid}`);
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
    const up = db.prepare(
      "INSERT INTO transfers (request_id, state, txid, updated_at) VALUES (?, 'in-flight', ?, ?) ON CONFLICT(request_id) DO UPDATE SET state = 'in-flight', txid = excluded.txid, updated_at = excluded.updated_at",
    );
    for (const id of b.transferIds) up.run(id, b.txid, b.now);
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
 * A custody tx confirmed: its transfers are paid; every other tx spending any of its inputs
 * (replaced versions, conflicts) is dropped, and transfers still pointing at those go back to
 * pending unless this tx pays them.
 */
export function markConfirmed(db: Db, txid: string, height: number, now: number): void {
  db.transaction(() => {
    const tx = getCustodyTx(db, txid);
    if (!tx) throw new MetanodeError('INVALID_INPUT', `unknown custody transaction ${txid}`);
    if (tx.state === 'confirmed') return;
    db.prepare("UPDATE custody_txs SET state = 'confirmed', confirmed_height = ?, updated_at = ? WHERE txid = ?").run(height, now, txid);
    const paid = db.prepare("INSERT INTO transfers (request_id, state, txid, updated_at) VALUES (?, 'paid', ?, ?) ON CONFLICT(request_id) DO UPDATE SET state = 'paid', txid = excluded.txid, updated_at = excluded.updated_at");
    for (const id of tx.transferIds) paid.run(id, txid, now);
    const spent = new Set(tx.inputs.map(key));
    for (const other of listCustodyTxs(db)) {
      if (other.txid === txid || other.state === 'confirmed' || other.state === 'dropped') continue;
      if (other.inputs.some((o) => spent.has(key(o)))) dropTx(db, other.txid, now);
    }
  })();
}

/**
 * A custody tx this node never recorded (it missed the round's end, or proposed another
 * document) was seen confirmed on chain paying `transferIds`: record it as confirmed so its
 * transfers are paid here too and are never proposed again. Idempotent.
 */
export function recordConfirmedCustodyTx(db: Db, c: { txid: string; hex: string; inputs: Outpoint[]; transferIds: string[]; height: number; now: number }): void {
  db.transaction(() => {
    const known = getCustodyTx(db, c.txid);
    if (!known) {
      db.prepare(
        `INSERT INTO custody_txs (txid, round_id, hex, inputs, transfer_ids, fee_rate, broadcast_height, state, replaces, created_at, updated_at)
         VALUES (?, -1, ?, ?, ?, 0, ?, 'unconfirmed', NULL, ?, ?)`,
      ).run(c.txid, c.hex, JSON.stringify(c.inputs), JSON.stringify([...c.transferIds].sort()), c.height, c.now, c.now);
    }
    markConfirmed(db, c.txid, c.height, c.now);
  })();
}

function dropTx(db: Db, txid: string, now: number): void {
  db.prepare("UPDATE custody_txs SET state = 'dropped', updated_at = ? WHERE txid = ?").run(now, txid);
  db.prepare("UPDATE transfers SET state = 'pending', txid = NULL, updated_at = ? WHERE txid = ? AND state = 'in-flight'").run(now, txid);
}

/** The tx left the mempool without confirming (evicted, expired, conflicted): its transfers are pending again. */
export function markDropped(db: Db, txid: string, now: number): void {
  db.transaction(() => {
    const tx = getCustodyTx(db, txid);
    if (!tx) throw new MetanodeError('INVALID_INPUT', `unknown custody transaction ${txid}`);
    if (tx.state === 'confirmed') throw new MetanodeError('INVALID_INPUT', `custody transaction ${txid} is confirmed; it cannot be dropped`);
    dropTx(db, txid, now);
  })();
}

/** Inputs of unconfirmed custody txs: a new candidate must not spend them (unless replacing). */
export function lockedOutpoints(db: Db): Outpoint[] {
  return listCustodyTxs(db, 'unconfirmed').flatMap((t) => t.inputs);
}

/** Transfers a new candidate must not pay (in flight or paid). */
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

export interface ReconcileResult {
  confirmed: string[];
  dropped: string[];
}

/**
 * Brings the bookkeeping in line with the chain: confirmed custody txs are marked confirmed; a tx
 * the chain source no longer knows, or whose input another transaction spent, is dropped.
 */
async function rebroadcastRefused(chain: Pick<ChainSource, 'broadcast'>, hex: string): Promise<boolean> {
  try {
    await chain.broadcast(hex);
    return false;
  } catch (e) {
    if (!isMetanodeError(e, 'TX_REJECTED')) return false; // unreachable: decide next time
    return /missingorspent|missing inputs|conflict/i.test(errorMessage(e));
  }
}

export async function reconcileCustodyTxs(
  db: Db,
  chain: Pick<ChainSource, 'getTx' | 'getOutSpend' | 'broadcast'>,
  now: number,
): Promise<ReconcileResult> {
  const out: ReconcileResult = { confirmed: [], dropped: [] };
  for (const t of listCustodyTxs(db, 'unconfirmed')) {
    const tx = await chain.getTx(t.txid);
    if (tx?.status.confirmed && tx.status.blockHeight !== undefined) {
      markConfirmed(db, t.txid, tx.status.blockHeight, now);
      out.confirmed.push(t.txid);
      continue;
    }
    let conflicted = false;
    for (const o of t.inputs) {
      const s = await chain.getOutSpend(o.txid, o.vout);
      if (s.spent && s.txid && s.txid !== t.txid) {
        conflicted = true;
        // The spender may be one of our own replacements that confirmed.
        const mine = getCustodyTx(db, s.txid);
        if (mine && s.status?.confirmed && s.status.blockHeight !== undefined) {
          markConfirmed(db, s.txid, s.status.blockHeight, now);
          out.confirmed.push(s.txid);
        }
        break;
      }
    }
    if (getCustodyTx(db, t.txid)?.state !== 'unconfirmed') continue;
    // Unknown to the chain source is not proof of a drop: another node's broadcast may not have
    // reached it yet, or a mempool evicted it. We hold the signed hex, so offer it again; only a
    // refusal for its inputs (spent or gone) proves it can never confirm.
    if (tx === null && !conflicted && !(await rebroadcastRefused(chain, t.hex))) continue;
    if (conflicted || tx === null) {
      markDropped(db, t.txid, now);
      out.dropped.push(t.txid);
    }
  }
  return out;
}
