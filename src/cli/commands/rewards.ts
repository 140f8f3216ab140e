import type { ApiClient } from '../client.js';
import type { RewardsJson } from '../json-types.js';
import { render, type View } from '../print.js';

/** One row of `metanode rewards --json` .peers: sats as decimal strings. */
export interface RewardRow {
  peerId: string;
  /** Accrued by custody txs in blocks of the best chain. */
  accrued: string;
  /** Paid by reward outputs of custody txs in blocks. */
  paid: string;
  /** Paid by reward outputs of custody txs still waiting for a block. */
  inFlight: string;
  /** accrued - paid - inFlight. */
  balance: string;
  /** balance >= minPayout: the next custody tx pays it. */
  due: boolean;
}

/** `metanode rewards --json`. */
export interface RewardsReport {
  minPayout: string;
  transferFee: string;
  /** False while some custody tx's rewards cannot be derived yet (no reward is proposed then). */
  complete: boolean;
  waiting: Array<{ txid: string; reason: string }>;
  totals: { transfers: number; minerFees: string; pool: string; remainder: string };
  peers: RewardRow[];
}

export function toRewardsReport(r: RewardsJson): RewardsReport {
  return {
    minPayout: r.minPayoutSats,
    transferFee: r.transferFeeSats,
    complete: r.complete,
    waiting: r.waiting,
    totals: { transfers: r.totals.transfers, minerFees: r.totals.minerFeesSats, pool: r.totals.poolSats, remainder: r.totals.remainderSats },
    peers: r.peers.map((p) => ({ peerId: p.peerId, accrued: p.accruedSats, paid: p.paidSats, inFlight: p.inFlightSats, balance: p.balanceSats, due: p.due })),
  };
}

/** `metanode rewards`: the reward ledger per peer (needs the running node: reward addresses come from the stakes it sees). */
export async function rewardsCommand(client: ApiClient): Promise<RewardsReport> {
  return toRewardsReport(await client.get<RewardsJson>('/v1/rewards'));
}

export const rewardsView: View<RewardRow> = {
  empty: '(no rewards accrued yet)',
  columns: [
    { header: 'PEER', get: (p) => p.peerId },
    { header: 'ACCRUED', get: (p) => p.accrued, align: 'right' },
    { header: 'PAID', get: (p) => p.paid, align: 'right' },
    { header: 'IN FLIGHT', get: (p) => p.inFlight, align: 'right' },
    { header: 'BALANCE', get: (p) => p.balance, align: 'right' },
    { header: 'DUE', get: (p) => (p.due ? 'yes' : 'no') },
  ],
};

export function renderRewards(r: RewardsReport): string {
  const lines = [
    render(r.peers, { view: rewardsView }),
    '',
    `minimum payout ${r.minPayout} sats; transfer fee ${r.transferFee} sats`,
    `custody txs in blocks paid ${r.totals.transfers} transfer(s), ${r.totals.minerFees} sats of miner fees; reward pool ${r.totals.pool} sats (${r.totals.remainder} kept by the vault as division remainders)`,
  ];
  if (!r.complete) lines.push(`incomplete: ${r.waiting.length} custody tx(s) not derived yet, no reward is proposed until they are (${r.waiting.map((w) => `${w.txid.slice(0, 12)}: ${w.reason}`).join('; ')})`);
  return lines.join('\n');
}
