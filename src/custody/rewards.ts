// The reward ledger: what each peer earned and was paid, derived from the best chain and the
// adopted epoch records only, so every honest node computes the same balances and the same
// candidate (DESIGN §3: the round agrees on one document by hash).
//
// - Source of the money: every transfer pays custody.transferFeeSats. A custody transaction's
//   reward pool = (its transfers x transferFee) - its miner fee, floored at 0: the vault never pays
//   out more in rewards than the transfers paid in.
// - Accrual: a custody transaction in a block of the best chain accrues its pool equally to the
//   committee of the epoch named in its commitment output (MNC2, src/custody/candidate.ts); the
//   remainder of the integer division stays in the vault.
// - Payout: the rewards a transaction pays are its outputs to a committee member's reward script
//   (its stake) or to a leaver's (a peer of an earlier committee in the epoch's lineage, at the
//   address its newest record there carries: src/custody/leavers.ts). The candidate writes a
//   reward only when its script is unique in the transaction; an output to a script several of
//   them share counts as paid to each (never paid twice, at worst paid less).
// - Paid counts rewards in confirmed, final AND unconfirmed (in-flight) custody transactions, so a
//   balance is never paid twice while a transaction waits for a block; for an RBF family, the most
//   any version pays (any one of them may still confirm). A peer whose balance
//   (accrued - paid) reaches custody.rewardMinPayoutSats is paid all of it in the next candidate.
// - Storage: reward_txs (one row per custody tx in a block) and reward_ledger (accrual and payout
//   per peer of that tx), written in the SQLite transaction that confirms the tx and deleted in the
//   one that reverts or drops it (CustodyChainFollower `within`). Keyed by peer id: a regroup
//   changes who accrues next, never a balance. A tx whose epoch record, input values or committee
//   reward addresses this node does not know yet waits (reconcile retries every chain poll); while
//   one waits, the node proposes no reward at all rather than one it cannot prove unpaid.
import { Transaction } from '@scure/btc-signer';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Db, Migration } from '../store/db.js';
import { parseCommitment, type Outpoint, type RewardOutput } from './candidate.js';
import { balancesAt, type LedgerRow, type PeerBalance, type RewardLedgerView } from './reward-balance.js';
import { getCustodyTx, listCustodyTxs, type CustodyTxRecord } from './transfers.js';

export const rewardMigrations: Migration[] = [
  {
    id: 'rewards-001-ledger',
    sql: `
      CREATE TABLE reward_txs (
        txid      TEXT PRIMARY KEY,
        height    INTEGER NOT NULL,
        epoch     INTEGER,
        transfers INTEGER NOT NULL,
        fee       TEXT NOT NULL,
        pool      TEXT NOT NULL,
        remainder TEXT NOT NULL
      );
      CREATE TABLE reward_ledger (
        txid    TEXT NOT NULL,
        peer_id TEXT NOT NULL,
        accrued TEXT NOT NULL,
        paid    TEXT NOT NULL,
        PRIMARY KEY (txid, peer_id)
      );
      CREATE INDEX reward_ledger_peer ON reward_ledger (peer_id);
    `,
  },
];

/** What the ledger reads besides the custody txs; every answer must be shared federation-wide. */
export interface RewardSource {
  /** custody.transferFeeSats (a federation-wide setting, like the request quotas). */
  transferFee: bigint;
  /** Committee peer ids of an adopted epoch record, null when this node does not hold it. */
  committee(epoch: number): string[] | null;
  /** scriptPubKey (hex) of the reward address committed in the peer's stake, null when unknown. */
  rewardScript(peerId: string): string | null;
  /** Value of an outpoint the custody tx spends (a vault or deposit output), null when unknown. */
  inputValue(o: Outpoint): bigint | null;
  /**
   * Leavers of an epoch (src/custody/leavers.ts): peer id -> scriptPubKey (hex) of the reward
   * address its newest record in the epoch's lineage carries; null while a record of the lineage
   * is unknown here. Absent: no leaver is ever paid.
   */
  leavers?(epoch: number): Map<string, string> | null;
}

export interface TxRewards {
  epoch: number | null;
  transfers: number;
  fee: bigint;
  pool: bigint;
  remainder: bigint;
  accrued: Map<string, bigint>;
  paid: Map<string, bigint>;
  /** The reward outputs themselves (a replacement repeats them, see ReplaceSpec.rewards). */
  outputs: RewardOutput[];
}

export type Analysis = { ok: true; rewards: TxRewards } | { ok: false; reason: string };

/**
 * Reward outputs: outputs to the reward script of a committee member (its stake) or of a leaver
 * (its newest record in the lineage). An output to a script two of them share counts as paid to
 * each of them: a shared address can only make the ledger pay less, never twice (the candidate
 * never writes two reward outputs to one script).
 */
function readRewards(outs: Array<{ script: string; amount: bigint }>, committee: string[], leavers: Map<string, string>, src: RewardSource): RewardOutput[] | string {
  const owners = new Map<string, string[]>(); // script -> peers, sorted
  const own = (script: string, p: string) => owners.set(script, [...(owners.get(script) ?? []), p].sort());
  for (const p of committee) {
    const s = src.rewardScript(p);
    if (s === null) return `reward address of committee member ${p} unknown`;
    own(s, p);
  }
  for (const [p, s] of leavers) own(s, p);
  return outs.flatMap((o) => (owners.get(o.script) ?? []).map((p) => ({ peerId: p, script: o.script, amount: o.amount })));
}

type Outs = Array<{ script: string; amount: bigint }>;

/**
 * A custody tx's outputs, its epoch (null: an MNC1 commitment or none, which accrues and pays
 * nothing), the committee, and its reward outputs; or why they cannot be read yet.
 */
function readTx(tx: Pick<CustodyTxRecord, 'txid' | 'hex'>, src: RewardSource): { ok: true; outs: Outs; epoch: number | null; committee: string[]; rewards: RewardOutput[] } | { ok: false; reason: string } {
  let parsed: Transaction;
  try {
    parsed = Transaction.fromRaw(hexToBytes(tx.hex), { allowUnknownOutputs: true, allowUnknownInputs: true });
  } catch {
    return { ok: false, reason: `custody tx ${tx.txid} does not parse` };
  }
  const outs = Array.from({ length: parsed.outputsLength }, (_, i) => {
    const o = parsed.getOutput(i);
    return { script: bytesToHex(o.script!), amount: o.amount! };
  });
  const epoch = outs.map((o) => parseCommitment(o.script)).find((c) => c !== null)?.epoch ?? null;
  if (epoch === null) return { ok: true, outs, epoch, committee: [], rewards: [] };
  const committee = src.committee(epoch);
  if (committee === null) return { ok: false, reason: `epoch ${epoch} record unknown` };
  const leavers = src.leavers ? src.leavers(epoch) : new Map<string, string>();
  if (leavers === null) return { ok: false, reason: `a record of epoch ${epoch}'s lineage is unknown (leavers' reward addresses)` };
  const rewards = readRewards(outs, [...new Set(committee)], leavers, src);
  if (typeof rewards === 'string') return { ok: false, reason: rewards };
  return { ok: true, outs, epoch, committee, rewards };
}

/** The reward outputs of a custody tx (no input values needed); null when they cannot be read yet. */
export function rewardOutputsIn(tx: Pick<CustodyTxRecord, 'txid' | 'hex'>, src: RewardSource): RewardOutput[] | string {
  const r = readTx(tx, src);
  return r.ok ? r.rewards : r.reason;
}

/** Accrual and payouts of one custody tx, or why they cannot be derived yet. */
export function analyzeCustodyTx(tx: Pick<CustodyTxRecord, 'txid' | 'hex' | 'inputs' | 'transferIds'>, src: RewardSource): Analysis {
  const r = readTx(tx, src);
  if (!r.ok) return r;
  const { outs, epoch, committee, rewards: rewardOuts } = r;
  const transfers = tx.transferIds.length;
  let totalIn = 0n;
  for (const o of tx.inputs) {
    const v = src.inputValue(o);
    if (v === null) return { ok: false, reason: `value of input ${o.txid}:${o.vout} unknown` };
    totalIn += v;
  }
  const fee = totalIn - outs.reduce((s, o) => s + o.amount, 0n);
  if (epoch === null) return { ok: true, rewards: { epoch, transfers, fee, pool: 0n, remainder: 0n, accrued: new Map(), paid: new Map(), outputs: [] } };
  const paid = new Map<string, bigint>();
  for (const o of rewardOuts) paid.set(o.peerId, (paid.get(o.peerId) ?? 0n) + o.amount);
  const income = BigInt(transfers) * src.transferFee - fee;
  const pool = income > 0n ? income : 0n;
  const members = [...new Set(committee)].sort();
  const share = members.length ? pool / BigInt(members.length) : 0n;
  const accrued = new Map(share > 0n ? members.map((p) => [p, share] as const) : []);
  return { ok: true, rewards: { epoch, transfers, fee, pool, remainder: pool - share * BigInt(members.length), accrued, paid, outputs: rewardOuts } };
}

function writeRows(db: Db, tx: CustodyTxRecord, r: TxRewards): void {
  db.prepare('INSERT INTO reward_txs (txid, height, epoch, transfers, fee, pool, remainder) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    tx.txid, tx.confirmedHeight ?? 0, r.epoch, r.transfers, r.fee.toString(), r.pool.toString(), r.remainder.toString(),
  );
  const ins = db.prepare('INSERT INTO reward_ledger (txid, peer_id, accrued, paid) VALUES (?, ?, ?, ?)');
  for (const p of [...new Set([...r.accrued.keys(), ...r.paid.keys()])].sort()) {
    ins.run(tx.txid, p, (r.accrued.get(p) ?? 0n).toString(), (r.paid.get(p) ?? 0n).toString());
  }
}

/**
 * Brings the ledger in line with the custody txs: rows of txs no longer in a block (reverted,
 * dropped) or in another block are deleted, and txs in a block without rows get them when they
 * can be derived. One SQLite transaction (nested inside the caller's when there is one). Returns
 * the txids still waiting, with the reason.
 */
export function reconcileRewards(db: Db, src: RewardSource): Array<{ txid: string; reason: string }> {
  return db.transaction(() => {
    const stale = `SELECT r.txid FROM reward_txs r LEFT JOIN custody_txs c ON c.txid = r.txid
      WHERE c.txid IS NULL OR c.state NOT IN ('confirmed','final') OR COALESCE(c.confirmed_height, 0) != r.height`;
    db.prepare(`DELETE FROM reward_ledger WHERE txid IN (${stale})`).run();
    db.prepare(`DELETE FROM reward_txs WHERE txid IN (${stale})`).run();
    const missing = db.prepare(`SELECT c.txid FROM custody_txs c LEFT JOIN reward_txs r ON r.txid = c.txid WHERE c.state IN ('confirmed','final') AND r.txid IS NULL ORDER BY c.txid`).all() as Array<{ txid: string }>;
    const waiting: Array<{ txid: string; reason: string }> = [];
    for (const { txid } of missing) {
      const tx = getCustodyTx(db, txid)!;
      const a = analyzeCustodyTx(tx, src);
      if (a.ok) writeRows(db, tx, a.rewards);
      else waiting.push({ txid: tx.txid, reason: a.reason });
    }
    return waiting;
  })();
}

export interface RewardBalances {
  peers: PeerBalance[];
  /** False while a custody tx's rewards cannot be derived yet (see `waiting`). */
  complete: boolean;
  waiting: Array<{ txid: string; reason: string }>;
  /** Totals over the txs in blocks: transfers paid, miner fees, pools, remainders kept by the vault. */
  totals: { transfers: number; fees: bigint; pool: bigint; remainder: bigint };
}

/**
 * The ledger rows as reconcileRewards left them, plus the payouts of custody txs not in a block
 * (height null), read from their hex. `complete` is false while some tx waits to be derived.
 */
export function rewardLedger(db: Db, src: RewardSource, minPayout: bigint): RewardLedgerView & { waiting: Array<{ txid: string; reason: string }> } {
  const waiting = (
    db.prepare(`SELECT c.txid FROM custody_txs c LEFT JOIN reward_txs r ON r.txid = c.txid WHERE c.state IN ('confirmed','final') AND r.txid IS NULL ORDER BY c.txid`).all() as Array<{ txid: string }>
  ).map((r) => ({ txid: r.txid, reason: 'in a block, rewards not derived yet' }));
  const rows: LedgerRow[] = (
    db.prepare('SELECT l.peer_id, l.accrued, l.paid, t.height FROM reward_ledger l JOIN reward_txs t ON t.txid = l.txid ORDER BY l.txid, l.peer_id').all() as Array<{
      peer_id: string; accrued: string; paid: string; height: number;
    }>
  ).map((r) => ({ peerId: r.peer_id, height: r.height, accrued: BigInt(r.accrued), paid: BigInt(r.paid) }));
  // In flight: a replacement family (same inputs: the unconfirmed head and the versions it
  // replaced) may still confirm any one of its versions, so each peer counts the most any version
  // pays it. A family without an unconfirmed version is over (dropped, or confirmed and counted above).
  const families = new Map<string, CustodyTxRecord[]>();
  for (const tx of [...listCustodyTxs(db, 'unconfirmed'), ...listCustodyTxs(db, 'replaced')]) {
    const k = tx.inputs.map((o) => `${o.txid}:${o.vout}`).sort().join(',');
    families.set(k, [...(families.get(k) ?? []), tx]);
  }
  for (const family of families.values()) {
    if (!family.some((t) => t.state === 'unconfirmed')) continue;
    const most = new Map<string, bigint>();
    for (const tx of family) {
      const outs = rewardOutputsIn(tx, src);
      if (typeof outs === 'string') {
        waiting.push({ txid: tx.txid, reason: outs });
        continue;
      }
      const paid = new Map<string, bigint>();
      for (const o of outs) paid.set(o.peerId, (paid.get(o.peerId) ?? 0n) + o.amount);
      for (const [p, v] of paid) if (v > (most.get(p) ?? 0n)) most.set(p, v);
    }
    for (const [peerId, paid] of most) rows.push({ peerId, height: null, accrued: 0n, paid });
  }
  return { minPayout, complete: waiting.length === 0, rows, waiting };
}

/** Balances of every peer with a ledger entry (all accruals counted) and the vault's totals. */
export function rewardBalances(db: Db, src: RewardSource): RewardBalances {
  const l = rewardLedger(db, src, 0n);
  const t = db.prepare('SELECT transfers, fee, pool, remainder FROM reward_txs').all() as Array<{ transfers: number; fee: string; pool: string; remainder: string }>;
  const totals = t.reduce(
    (s, r) => ({ transfers: s.transfers + r.transfers, fees: s.fees + BigInt(r.fee), pool: s.pool + BigInt(r.pool), remainder: s.remainder + BigInt(r.remainder) }),
    { transfers: 0, fees: 0n, pool: 0n, remainder: 0n },
  );
  return { peers: balancesAt(l.rows), complete: l.complete, waiting: l.waiting, totals };
}

/** The reward outputs of a custody tx this node holds (for its replacement); [] when not derivable. */
export function rewardOutputsOf(db: Db, txid: string, src: RewardSource): RewardOutput[] {
  const tx = getCustodyTx(db, txid);
  const outs = tx ? rewardOutputsIn(tx, src) : [];
  return typeof outs === 'string' ? [] : outs;
}
