// Reward balances from ledger rows, pure: the node (src/custody/rewards.ts) reads the rows from
// SQLite, the candidate builder (src/custody/candidate.ts) turns them into the rewards due at the
// anchor height the round builds at. Every node with the same chain view gets the same answer.

/** One peer's share of one custody tx. height: its block; null for a tx not (or no longer) in a block. */
export interface LedgerRow {
  peerId: string;
  height: number | null;
  accrued: bigint;
  paid: bigint;
}

/** What a candidate needs to pay rewards: the rows, and whether they cover every custody tx. */
export interface RewardLedgerView {
  minPayout: bigint;
  /** False while some custody tx's rewards cannot be derived: then nothing is paid. */
  complete: boolean;
  rows: LedgerRow[];
}

export interface PeerBalance {
  peerId: string;
  /** Accrued by txs in a block at or below the anchor (all, without one). */
  accrued: bigint;
  /** Paid by txs in a block. */
  paid: bigint;
  /** Paid by txs not in a block (in flight): spoken for until they confirm or drop. */
  inFlight: bigint;
  /** accrued - paid - inFlight. */
  balance: bigint;
}

/** A reward balance due: paid whole in one output. */
export interface RewardDue {
  peerId: string;
  amount: bigint;
}

/** Balances per peer, sorted by peer id. Payouts count wherever they are; accruals up to `anchorHeight`. */
export function balancesAt(rows: LedgerRow[], anchorHeight?: number): PeerBalance[] {
  const by = new Map<string, PeerBalance>();
  for (const r of rows) {
    let p = by.get(r.peerId);
    if (!p) by.set(r.peerId, (p = { peerId: r.peerId, accrued: 0n, paid: 0n, inFlight: 0n, balance: 0n }));
    if (r.height === null) p.inFlight += r.paid;
    else {
      p.paid += r.paid;
      if (anchorHeight === undefined || r.height <= anchorHeight) p.accrued += r.accrued;
    }
  }
  const out = [...by.values()].sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
  for (const p of out) p.balance = p.accrued - p.paid - p.inFlight;
  return out;
}

/** Every whole balance >= minPayout at the anchor, by peer id; none while the ledger is incomplete. */
export function rewardsDueAt(l: RewardLedgerView, anchorHeight: number): RewardDue[] {
  if (!l.complete) return [];
  return balancesAt(l.rows, anchorHeight)
    .filter((p) => p.balance >= l.minPayout)
    .map((p) => ({ peerId: p.peerId, amount: p.balance }));
}
