// The balance sheet's arithmetic and what it refuses (src/devnet/balance-sheet.ts), on a small
// hand-made chain: two deposits paid out in one custody tx, a third paid in a second tx that also
// pays two rewards. Each attack test changes one thing and checks the sheet names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balanceSheet, renderBalanceSheet, type ChainTx, type FederationBook } from '../../src/devnet/balance-sheet.js';

const V = '5120' + 'aa'.repeat(32);
const s = (tag: string) => '5120' + tag.repeat(32);
const REQ = [
  { id: 'r1', amount: 50_000n, depositScript: s('d1'), payoutScript: s('11'), refundScript: s('e1') },
  { id: 'r2', amount: 60_000n, depositScript: s('d2'), payoutScript: s('12'), refundScript: s('e2') },
  { id: 'r3', amount: 30_000n, depositScript: s('d3'), payoutScript: s('13'), refundScript: s('e3') },
];
const W1 = s('b1');
const W2 = s('b2');
const X = s('ff'); // nobody's script
const OPRET = '6a24' + '00'.repeat(36);

function book(over: Partial<FederationBook> = {}): FederationBook {
  return {
    transferFee: 2_000n,
    vaultScripts: new Set([V]),
    requests: REQ,
    rewardScripts: new Map([[W1, ['peerA']], [W2, ['peerB']]]),
    ledgers: [{ node: 'node-1', complete: true, paid: new Map([['peerA', 1_500n], ['peerB', 1_500n]]) }],
    ...over,
  };
}

const faucet = (txid: string, height: number, outputs: ChainTx['outputs']): ChainTx => ({ txid, height, inputs: [{ txid: '0'.repeat(64), vout: 0, prevout: null }], outputs });
const spend = (txid: string, vout: number, script: string, value: bigint) => ({ txid, vout, prevout: { script, value } });

/** f1, f2: deposits; c1 pays r1, r2 (fee 500, change 3 500); f3 deposits r3; c2 pays r3 and 1 500 to each reward address (fee 400, change 2 100). */
function chain(c2Outputs?: ChainTx['outputs'], extra: { c2Inputs?: ChainTx['inputs']; before?: ChainTx[] } = {}): ChainTx[] {
  return [
    faucet('f1', 10, [{ script: REQ[0]!.depositScript, value: 50_000n }]),
    faucet('f2', 10, [{ script: REQ[1]!.depositScript, value: 60_000n }, { script: X, value: 1_000n }]),
    {
      txid: 'c1', height: 12,
      inputs: [spend('f1', 0, REQ[0]!.depositScript, 50_000n), spend('f2', 0, REQ[1]!.depositScript, 60_000n)],
      outputs: [{ script: REQ[0]!.payoutScript, value: 48_000n }, { script: REQ[1]!.payoutScript, value: 58_000n }, { script: OPRET, value: 0n }, { script: V, value: 3_500n }],
    },
    faucet('f3', 13, [{ script: REQ[2]!.depositScript, value: 30_000n }]),
    ...(extra.before ?? []),
    {
      txid: 'c2', height: 15,
      inputs: extra.c2Inputs ?? [spend('c1', 3, V, 3_500n), spend('f3', 0, REQ[2]!.depositScript, 30_000n)],
      outputs: c2Outputs ?? [{ script: REQ[2]!.payoutScript, value: 28_000n }, { script: W1, value: 1_500n }, { script: W2, value: 1_500n }, { script: OPRET, value: 0n }, { script: V, value: 2_100n }],
    },
  ];
}

test('balance sheet: deposits in = payouts + rewards + miner fees + held, to the satoshi; rewards within the pools; the ledger agrees', () => {
  const sheet = balanceSheet(chain(), book(), 20);
  assert.deepEqual(sheet.problems, []);
  assert.deepEqual(
    [sheet.depositsIn, sheet.payouts, sheet.refunds, sheet.rewards, sheet.minerFees, sheet.held, sheet.unexplained, sheet.foreignIn],
    [140_000n, 134_000n, 0n, 3_000n, 900n, 2_100n, 0n, 0n],
  );
  assert.deepEqual([sheet.transferFeesIn, sheet.rewardPools, sheet.custodyTxs, sheet.transfersPaid], [6_000n, 3_500n + 1_600n, 2, 3]);
  assert.deepEqual(sheet.rewardsByPeer, new Map([['peerA', 1_500n], ['peerB', 1_500n]]));
  assert.match(renderBalanceSheet(sheet).join('\n'), /balance sheet at height 20: 2 custody tx\(s\), 3 transfer\(s\) paid[\s\S]*held +2100[\s\S]*balanced:/);
});

test('balance sheet: a refund is counted as a refund', () => {
  const sheet = balanceSheet(chain([{ script: REQ[2]!.refundScript, value: 28_000n }, { script: V, value: 5_100n }]), book({ ledgers: [] }), 20);
  assert.deepEqual(sheet.problems, []);
  assert.deepEqual([sheet.refunds, sheet.payouts, sheet.held, sheet.minerFees], [28_000n, 106_000n, 5_100n, 900n]);
});

test('attack: a custody tx paying a script that is no payout, refund, reward or federation script is named, with its amount', () => {
  const sheet = balanceSheet(chain([{ script: REQ[2]!.payoutScript, value: 28_000n }, { script: W1, value: 1_500n }, { script: W2, value: 1_500n }, { script: X, value: 2_100n }]), book(), 20);
  assert.equal(sheet.unexplained, 2_100n);
  assert.equal(sheet.held, 0n);
  assert.deepEqual(sheet.problems, [`output c2:3 (2100 sats) of custody tx c2 pays ${X}, which is no federation script, payout, refund or reward address`]);
  assert.match(renderBalanceSheet(sheet).join('\n'), /unexplained +2100[\s\S]*PROBLEM: output c2:3/);
});

test('attack: rewards paid out of deposits (beyond the transfer fees less miner fees) are refused', () => {
  // A deposit straight to the vault lets the custody tx pay rewards of 6 000 each, far above the pools.
  const vaultDeposit = faucet('f4', 14, [{ script: V, value: 10_000n }]);
  const inputs = [spend('c1', 3, V, 3_500n), spend('f3', 0, REQ[2]!.depositScript, 30_000n), spend('f4', 0, V, 10_000n)];
  const outputs = [{ script: REQ[2]!.payoutScript, value: 28_000n }, { script: W1, value: 6_000n }, { script: W2, value: 6_000n }, { script: V, value: 3_100n }];
  const sheet = balanceSheet(chain(outputs, { c2Inputs: inputs, before: [vaultDeposit] }), book({ ledgers: [] }), 20);
  assert.equal(sheet.depositsIn, 150_000n);
  assert.deepEqual(sheet.problems, [
    'rewards paid 12000 exceed the reward pools 5100 (transfer fees less miner fees, per custody tx)',
    'rewards paid 12000 exceed the transfer fees taken in 6000',
  ]);
});

test('attack: a payout short of amount minus the transfer fee, and a request paid twice (from a second deposit), are named', () => {
  const again = faucet('f5', 14, [{ script: REQ[0]!.depositScript, value: 50_000n }]);
  const inputs = [spend('c1', 3, V, 3_500n), spend('f3', 0, REQ[2]!.depositScript, 30_000n), spend('f5', 0, REQ[0]!.depositScript, 50_000n)];
  const outputs = [{ script: REQ[2]!.payoutScript, value: 27_000n }, { script: REQ[0]!.payoutScript, value: 48_000n }, { script: V, value: 8_100n }];
  const sheet = balanceSheet(chain(outputs, { c2Inputs: inputs, before: [again] }), book({ ledgers: [] }), 20);
  assert.deepEqual(sheet.problems, [
    'output c2:0 (27000 sats) pays request r3 27000 sats, not its amount 30000 minus the transfer fee 2000',
    'request r1 is paid twice on the best chain: in c1 and in c2',
  ]);
  assert.equal(sheet.transfersPaid, 4);
});

test('attack: a payout to a request\'s payout address from a tx that does not spend its deposit is unexplained', () => {
  const outputs = [{ script: REQ[2]!.payoutScript, value: 28_000n }, { script: REQ[0]!.payoutScript, value: 3_000n }, { script: V, value: 2_100n }];
  const sheet = balanceSheet(chain(outputs), book({ ledgers: [] }), 20);
  assert.equal(sheet.unexplained, 3_000n);
  assert.deepEqual(sheet.problems, [`output c2:1 (3000 sats) of custody tx c2 pays ${REQ[0]!.payoutScript}, which is no federation script, payout, refund or reward address`]);
});

test('two requests sharing a payout address, paid in one tx, are each matched to their own payout', () => {
  const shared = REQ.map((r) => (r.id === 'r2' ? { ...r, payoutScript: REQ[0]!.payoutScript } : r));
  const txs = chain().map((t) => (t.txid === 'c1' ? { ...t, outputs: t.outputs.map((o) => (o.script === REQ[1]!.payoutScript ? { ...o, script: REQ[0]!.payoutScript } : o)) } : t));
  const sheet = balanceSheet(txs, book({ requests: shared }), 20);
  assert.deepEqual(sheet.problems, []);
  assert.deepEqual([sheet.transfersPaid, sheet.payouts], [3, 134_000n]);
});

test('attack: a custody tx spending a coin that is not the federation\'s is named (foreign inputs)', () => {
  const inputs = [spend('c1', 3, V, 3_500n), spend('f3', 0, REQ[2]!.depositScript, 30_000n), spend('f2', 1, X, 1_000n)];
  const outputs = [{ script: REQ[2]!.payoutScript, value: 28_000n }, { script: W1, value: 1_500n }, { script: W2, value: 1_500n }, { script: V, value: 3_100n }];
  const sheet = balanceSheet(chain(outputs, { c2Inputs: inputs }), book(), 20);
  assert.equal(sheet.foreignIn, 1_000n);
  assert.deepEqual(sheet.problems, ['custody tx c2 spends f2:1, which is not a federation coin']);
});

test('a node whose reward ledger disagrees with the chain, or is not complete, is named', () => {
  const ledgers = [
    { node: 'node-1', complete: true, paid: new Map([['peerA', 1_500n], ['peerB', 1_500n]]) },
    { node: 'node-2', complete: true, paid: new Map([['peerA', 1_500n], ['peerC', 700n]]) },
    { node: 'node-3', complete: false, paid: new Map([['peerA', 1_500n], ['peerB', 1_500n]]) },
  ];
  assert.deepEqual(balanceSheet(chain(), book({ ledgers }), 20).problems, [
    'node-2: its ledger says peerB was paid 0 sats in blocks; the chain shows 1500',
    'node-2: its ledger says peerC was paid 700 sats in blocks; the chain shows 0',
    "node-3: reward ledger not complete (some custody tx's rewards not derived yet)",
  ]);
});

test('a spend of a federation coin the chain read never saw arrive is named', () => {
  const txs = chain().filter((t) => t.txid !== 'f3');
  const sheet = balanceSheet(txs, book(), 20);
  assert.ok(sheet.problems.includes('custody tx c2 spends f3:0, a federation coin not seen arriving on the chain read'), sheet.problems.join('\n'));
});
