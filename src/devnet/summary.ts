// What a devnet run ends with: the nodes, the key, the transfers it submitted and where they got
// to, and every custody transaction the federation broadcast, with its raw hex and the outputs
// it spends (from the chain source), so that a script can check each signature on its own; and
// the vault's balance sheet.
import { bytesToHex } from '@noble/hashes/utils.js';
import { decodeTx } from '../chain/verify.js';
import type { ChainSource } from '../chain/types.js';
import { table } from '../cli/print.js';
import { renderBalanceSheet, type BalanceSheetJson } from './balance-sheet.js';

export interface DevnetTransfer {
  id: string;
  depositAddress: string;
  amountSats: number;
  payoutAddress: string;
  /**
   * pending | in-flight | confirmed (in a block, below custody.finalityDepth) | paid | expired, as
   * the nodes last reported it ('unknown' when none answered).
   */
  status: string;
  txid: string | null;
  /** Confirmations of the paying tx (confirmed and paid), null otherwise. */
  confirmations: number | null;
}

export interface DevnetTx {
  txid: string;
  hex: string;
  /** The output each input spends, in input order. */
  prevouts: { scriptPubKey: string; valueSats: number }[];
}

export interface DevnetSummary {
  network: 'regtest';
  nodes: { peerId: string; dataDir: string; api: string }[];
  /** null when the run ended before a key was locked in. */
  threshold: number | null;
  groupKey: string | null;
  vaultAddress: string | null;
  transfers: DevnetTransfer[];
  txs: DevnetTx[];
  /** The reward ledger as a node last reported it (GET /v1/rewards); null when none answered. */
  rewards: DevnetRewards | null;
  /**
   * The vault's balance sheet from the chain and the nodes' reports (src/devnet/balance-sheet.ts):
   * deposits in = payouts + refunds + rewards + miner fees + held, with every discrepancy in
   * `problems`; null when no key was locked in or no node answered.
   */
  balanceSheet: BalanceSheetJson | null;
}

export interface DevnetRewards {
  /** Over the custody txs in blocks: transfers paid, miner fees, reward pools accrued. */
  transfers: number;
  minerFeesSats: string;
  poolSats: string;
  peers: { peerId: string; accruedSats: string; paidSats: string; inFlightSats: string; balanceSats: string }[];
}

// How far along a transfer is: the nodes' latest views are merged by taking the furthest.
const RANK: Record<string, number> = { unknown: 0, pending: 1, expired: 2, 'in-flight': 3, confirmed: 4, paid: 5 };
const rank = (s: string) => RANK[s] ?? 1;

export interface TransferSeen {
  state: string;
  txid: string | null;
  confirmations?: number | null;
}

/** Keeps the furthest state seen for each transfer. */
export function mergeTransferState(into: Map<string, TransferSeen>, id: string, seen: TransferSeen): void {
  const prev = into.get(id);
  if (!prev || rank(seen.state) > rank(prev.state) || (rank(seen.state) === rank(prev.state) && seen.txid && !prev.txid)) into.set(id, seen);
}

/** Raw hex and prevouts of each txid the chain source knows (a tx it never accepted was not broadcast). */
export async function custodyTxs(chain: ChainSource, txids: Iterable<string>): Promise<DevnetTx[]> {
  const out: DevnetTx[] = [];
  for (const txid of [...new Set(txids)].sort()) {
    const tx = await chain.getTx(txid);
    if (!tx) continue;
    const parsed = decodeTx(tx.hex, 'CHAIN_BAD_RESPONSE', `tx ${txid}`);
    const prevouts: DevnetTx['prevouts'] = [];
    for (let i = 0; i < parsed.inputsLength; i++) {
      const input = parsed.getInput(i);
      const prevTxid = bytesToHex(input.txid!);
      const prev = await chain.getTx(prevTxid);
      const o = prev?.vout[input.index!];
      if (!o) throw new Error(`tx ${txid} input ${i} spends ${prevTxid}:${input.index}, which the chain source does not know`);
      prevouts.push({ scriptPubKey: o.scriptPubKey, valueSats: Number(o.value) });
    }
    out.push({ txid, hex: tx.hex, prevouts });
  }
  return out;
}

/** The summary as text for a terminal (--json prints the object itself). */
export function renderSummary(s: DevnetSummary): string {
  const lines = [`devnet summary: ${s.nodes.length} nodes on ${s.network}`];
  lines.push(s.groupKey ? `key: threshold ${s.threshold}, vault ${s.vaultAddress}, group key ${s.groupKey}` : 'key: none locked in before the devnet stopped');
  lines.push('', table(s.nodes.map((n, i) => [`node-${i + 1}`, n.peerId, n.api, n.dataDir]), ['node', 'peer id', 'api', 'data dir']));
  const count = (st: string) => s.transfers.filter((t) => t.status === st).length;
  lines.push('', `transfers: ${s.transfers.length} submitted, ${count('paid')} paid, ${count('confirmed')} confirmed (not final yet), ${count('in-flight')} in flight, ${count('pending')} pending`);
  if (s.transfers.length) {
    const status = (t: DevnetTransfer) => (t.status === 'confirmed' && t.confirmations !== null ? `confirmed (${t.confirmations} conf)` : t.status);
    lines.push(table(s.transfers.map((t) => [t.id.slice(0, 8), String(t.amountSats), status(t), t.txid ?? '-', t.payoutAddress]), ['id', 'sats', 'status', 'txid', 'payout'], ['left', 'right']));
  }
  lines.push('', `custody transactions broadcast: ${s.txs.length}${s.txs.length ? ' (raw hex and prevouts with --json)' : ''}`);
  for (const t of s.txs) lines.push(`  ${t.txid}  ${t.prevouts.length} input${t.prevouts.length === 1 ? '' : 's'}`);
  if (s.rewards) {
    const r = s.rewards;
    const paid = r.peers.reduce((sum, p) => sum + BigInt(p.paidSats) + BigInt(p.inFlightSats), 0n);
    lines.push('', `rewards: ${r.poolSats} sats accrued from ${r.transfers} transfer fee(s) less ${r.minerFeesSats} sats of miner fees; ${paid} sats paid in reward outputs`);
    if (r.peers.length) {
      const name = (id: string) => `node-${s.nodes.findIndex((n) => n.peerId === id) + 1}`;
      lines.push(table(r.peers.map((p) => [name(p.peerId), p.accruedSats, p.paidSats, p.inFlightSats, p.balanceSats]), ['node', 'accrued', 'paid', 'in flight', 'balance'], ['left', 'right', 'right', 'right', 'right']));
    }
  }
  if (s.balanceSheet) lines.push('', ...renderBalanceSheet(s.balanceSheet));
  return lines.join('\n');
}
