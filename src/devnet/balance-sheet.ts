// The vault's balance sheet from the chain: every satoshi that went into the federation's
// scripts (the vaults of every epoch and the deposit addresses of every request the nodes know)
// is either still there or left in a custody transaction, as a payout, a refund, a reward or the
// miner fee. Pure: the chain's transactions (src/devnet/audit.ts reads them from an Esplora API)
// and what the nodes report (their requests, epoch records, reward ledgers) go in, the sheet and
// every discrepancy found come out.
//
// What the sheet asserts, to the satoshi:
//   deposits in = payouts + refunds + rewards + miner fees + held (unspent at federation scripts)
// where every output of a transaction spending a federation coin must be one of: change to a
// federation script, the payout or refund of a known request whose deposit it spends, a reward to a committee member's
// reward address, or a zero-value OP_RETURN. Anything else is listed as unexplained. Also:
//   rewards paid <= sum over custody txs of max(0, transfer fees - miner fee) <= transfer fees in,
// each payout is its request's amount minus the transfer fee, no request is paid twice, and each
// node's reward ledger (paid in blocks, per peer) equals the reward outputs on the chain.

export interface ChainInput {
  txid: string;
  vout: number;
  /** The output it spends; null for a coinbase or faucet input. */
  prevout: { script: string; value: bigint } | null;
}

export interface ChainTx {
  txid: string;
  height: number;
  inputs: ChainInput[];
  outputs: Array<{ script: string; value: bigint }>;
}

export interface KnownRequest {
  id: string;
  amount: bigint;
  depositScript: string;
  payoutScript: string;
  refundScript: string;
}

/** One node's reward ledger: sats paid per peer in reward outputs in blocks. */
export interface LedgerReport {
  node: string;
  complete: boolean;
  paid: Map<string, bigint>;
}

/** What the nodes report, merged (src/devnet/audit.ts). */
export interface FederationBook {
  transferFee: bigint;
  /** Vault scripts of every epoch. */
  vaultScripts: Set<string>;
  requests: KnownRequest[];
  /** Reward script -> the peers it pays (from the epoch records' committee entries). */
  rewardScripts: Map<string, string[]>;
  ledgers: LedgerReport[];
}

export interface BalanceSheet {
  tipHeight: number;
  depositsIn: bigint;
  payouts: bigint;
  refunds: bigint;
  rewards: bigint;
  minerFees: bigint;
  /** Unspent at federation scripts on the chain read. */
  held: bigint;
  /** Outputs of custody txs that are none of the above (must be 0). */
  unexplained: bigint;
  /** Coins from outside spent by a custody tx (must be 0). */
  foreignIn: bigint;
  /** Transfer fees kept from the payouts in blocks (request amount - payout). */
  transferFeesIn: bigint;
  /** Sum over custody txs of max(0, their transfer fees - their miner fee): what may accrue as rewards. */
  rewardPools: bigint;
  custodyTxs: number;
  transfersPaid: number;
  rewardsByPeer: Map<string, bigint>;
  /** Every discrepancy, one sentence each; empty when the sheet balances. */
  problems: string[];
}

const isOpReturn = (script: string) => script.startsWith('6a');
const key = (txid: string, vout: number) => `${txid}:${vout}`;

export function balanceSheet(txs: ChainTx[], book: FederationBook, tipHeight: number): BalanceSheet {
  const problems: string[] = [];
  const depositScripts = new Map(book.requests.map((r) => [r.depositScript, r]));
  const ours = (script: string) => book.vaultScripts.has(script) || depositScripts.has(script);
  const coins = new Map<string, bigint>();
  const paidTx = new Map<string, string>();
  const s: BalanceSheet = {
    tipHeight, depositsIn: 0n, payouts: 0n, refunds: 0n, rewards: 0n, minerFees: 0n, held: 0n, unexplained: 0n, foreignIn: 0n,
    transferFeesIn: 0n, rewardPools: 0n, custodyTxs: 0, transfersPaid: 0, rewardsByPeer: new Map(), problems,
  };

  for (const tx of txs) {
    const spendsOurs = tx.inputs.some((i) => i.prevout !== null && ours(i.prevout.script));
    if (!spendsOurs) {
      tx.outputs.forEach((o, vout) => {
        if (!ours(o.script)) return;
        s.depositsIn += o.value;
        coins.set(key(tx.txid, vout), o.value);
      });
      continue;
    }
    s.custodyTxs++;
    let inSum = 0n;
    for (const i of tx.inputs) {
      const v = i.prevout?.value ?? 0n;
      inSum += v;
      if (i.prevout === null || !ours(i.prevout.script)) {
        s.foreignIn += v;
        problems.push(`custody tx ${tx.txid} spends ${key(i.txid, i.vout)}, which is not a federation coin`);
      } else if (!coins.delete(key(i.txid, i.vout))) {
        problems.push(`custody tx ${tx.txid} spends ${key(i.txid, i.vout)}, a federation coin not seen arriving on the chain read`);
      }
    }
    // A payout or refund spends its request's deposits (README, Bookkeeping): only the requests
    // whose deposit addresses this tx spends are candidates, each paid at most once here.
    const spent = new Set(tx.inputs.map((i) => i.prevout?.script));
    const open = book.requests.filter((r) => spent.has(r.depositScript));
    const take = (script: string, value: bigint, field: 'payoutScript' | 'refundScript') => {
      const fits = open.filter((r) => r[field] === script);
      const r = fits.find((x) => field === 'refundScript' || x.amount - book.transferFee === value) ?? fits[0];
      if (r && field === 'payoutScript') open.splice(open.indexOf(r), 1);
      return r;
    };
    let outSum = 0n;
    let feesTaken = 0n;
    tx.outputs.forEach((o, vout) => {
      outSum += o.value;
      const where = `output ${key(tx.txid, vout)} (${o.value} sats)`;
      let r: KnownRequest | undefined;
      if (ours(o.script)) {
        coins.set(key(tx.txid, vout), o.value);
      } else if ((r = take(o.script, o.value, 'payoutScript'))) {
        s.payouts += o.value;
        s.transfersPaid++;
        feesTaken += r.amount - o.value;
        if (o.value !== r.amount - book.transferFee) problems.push(`${where} pays request ${r.id} ${o.value} sats, not its amount ${r.amount} minus the transfer fee ${book.transferFee}`);
        const before = paidTx.get(r.id);
        if (before !== undefined) problems.push(`request ${r.id} is paid twice on the best chain: in ${before} and in ${tx.txid}`);
        paidTx.set(r.id, tx.txid);
      } else if (take(o.script, o.value, 'refundScript')) {
        s.refunds += o.value;
      } else if (book.rewardScripts.has(o.script)) {
        s.rewards += o.value;
        // A script several peers share counts for each of them (the ledger does the same).
        for (const p of book.rewardScripts.get(o.script)!) s.rewardsByPeer.set(p, (s.rewardsByPeer.get(p) ?? 0n) + o.value);
      } else if (isOpReturn(o.script) && o.value === 0n) {
        // the MNC2 commitment
      } else {
        s.unexplained += o.value;
        problems.push(`${where} of custody tx ${tx.txid} pays ${o.script}, which is no federation script, payout, refund or reward address`);
      }
    });
    const fee = inSum - outSum;
    s.minerFees += fee;
    s.transferFeesIn += feesTaken;
    if (feesTaken > fee) s.rewardPools += feesTaken - fee;
  }
  for (const v of coins.values()) s.held += v;

  const out = s.payouts + s.refunds + s.rewards + s.minerFees + s.held + s.unexplained;
  if (s.depositsIn + s.foreignIn !== out) {
    problems.push(`deposits in ${s.depositsIn} (+ foreign ${s.foreignIn}) != payouts ${s.payouts} + refunds ${s.refunds} + rewards ${s.rewards} + miner fees ${s.minerFees} + held ${s.held} + unexplained ${s.unexplained}`);
  }
  if (s.rewards > s.rewardPools) problems.push(`rewards paid ${s.rewards} exceed the reward pools ${s.rewardPools} (transfer fees less miner fees, per custody tx)`);
  if (s.rewards > s.transferFeesIn) problems.push(`rewards paid ${s.rewards} exceed the transfer fees taken in ${s.transferFeesIn}`);
  for (const l of book.ledgers) {
    if (!l.complete) problems.push(`${l.node}: reward ledger not complete (some custody tx's rewards not derived yet)`);
    const peers = new Set([...l.paid.keys(), ...s.rewardsByPeer.keys()]);
    for (const p of [...peers].sort()) {
      const ledger = l.paid.get(p) ?? 0n;
      const chain = s.rewardsByPeer.get(p) ?? 0n;
      if (ledger !== chain) problems.push(`${l.node}: its ledger says ${p} was paid ${ledger} sats in blocks; the chain shows ${chain}`);
    }
  }
  return s;
}

const AMOUNTS = ['depositsIn', 'payouts', 'refunds', 'rewards', 'minerFees', 'held', 'unexplained', 'foreignIn', 'transferFeesIn', 'rewardPools'] as const;

/** The sheet as JSON can carry it (sats as decimal strings, rewards per peer as an object). */
export type BalanceSheetJson = { [K in (typeof AMOUNTS)[number]]: string } & {
  tipHeight: number;
  custodyTxs: number;
  transfersPaid: number;
  rewardsByPeer: Record<string, string>;
  problems: string[];
};

export function sheetJson(s: BalanceSheet): BalanceSheetJson {
  const amounts = Object.fromEntries(AMOUNTS.map((k) => [k, s[k].toString()])) as { [K in (typeof AMOUNTS)[number]]: string };
  return {
    ...amounts,
    tipHeight: s.tipHeight,
    custodyTxs: s.custodyTxs,
    transfersPaid: s.transfersPaid,
    rewardsByPeer: Object.fromEntries([...s.rewardsByPeer].map(([p, v]) => [p, v.toString()])),
    problems: [...s.problems],
  };
}

/** The sheet as text, one line per item, then one line per problem (or that there is none). */
export function renderBalanceSheet(s: BalanceSheet | BalanceSheetJson): string[] {
  const lines = [
    `balance sheet at height ${s.tipHeight}: ${s.custodyTxs} custody tx(s), ${s.transfersPaid} transfer(s) paid`,
    `  deposits in      ${s.depositsIn}`,
    `  payouts          ${s.payouts}`,
    `  refunds          ${s.refunds}`,
    `  rewards          ${s.rewards}  (pools ${s.rewardPools}, transfer fees in ${s.transferFeesIn})`,
    `  miner fees       ${s.minerFees}`,
    `  held             ${s.held}`,
  ];
  if (BigInt(s.unexplained) > 0n || BigInt(s.foreignIn) > 0n) lines.push(`  unexplained      ${s.unexplained}, foreign inputs ${s.foreignIn}`);
  if (s.problems.length === 0) lines.push('  balanced: deposits in = payouts + refunds + rewards + miner fees + held; rewards within the pools; ledgers agree');
  else lines.push(...s.problems.map((p) => `  PROBLEM: ${p}`));
  return lines;
}
