// The devnet's summary pieces and live-view lines, without processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeTransferState, renderSummary, custodyTxs, type DevnetSummary, type TransferSeen } from '../../src/devnet/summary.js';
import { LiveView, keygenProgress, roundLine, type ViewNode } from '../../src/devnet/view.js';
import type { ApiClient } from '../../src/cli/client.js';
import type { NodeKeyState } from '../../src/devnet/federation.js';
import type { ChainSource, Tx } from '../../src/chain/types.js';
import * as btc from '@scure/btc-signer';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

test('transfer states from several nodes merge to the furthest one', () => {
  const m = new Map<string, TransferSeen>();
  mergeTransferState(m, 'a', { state: 'pending', txid: null });
  mergeTransferState(m, 'a', { state: 'paid', txid: 't1' });
  mergeTransferState(m, 'a', { state: 'in-flight', txid: 't1' }); // a lagging node
  assert.deepEqual(m.get('a'), { state: 'paid', txid: 't1' });
  mergeTransferState(m, 'b', { state: 'in-flight', txid: null });
  mergeTransferState(m, 'b', { state: 'in-flight', txid: 't2' });
  assert.deepEqual(m.get('b'), { state: 'in-flight', txid: 't2' });
});

test('round lines name round, status, phase, threshold set and txid; keygen progress counts nodes', () => {
  const name = (p: string) => ({ P1: 'node-1', P2: 'node-2' })[p] ?? p;
  assert.equal(roundLine({ roundId: 7, status: 'completed', txid: 'ab', thresholdSet: ['P1', 'P2'] }, 'broadcast', name), 'round 7: completed phase=broadcast threshold-set=[node-1,node-2] txid=ab');
  assert.equal(roundLine({ roundId: 8, status: 'aborted', reason: 'share invalid', culprits: ['P2'] }, 'shares', name), 'round 8: aborted phase=shares (share invalid) culprits=[node-2]');
  const s = (o: Partial<NodeKeyState>): NodeKeyState => ({ name: 'n', running: true, state: 'idle', epoch: null, vaultAddress: null, outputKey: null, threshold: null, committeeSize: null, locked: false, ...o });
  const until = new Date(10_000);
  assert.equal(keygenProgress([s({}), s({ state: 'keygen' }), s({ running: false })], until, 2_500), 'keygen: 8s until keygen_until; no key yet on 2 nodes; 1 in a keygen');
  assert.equal(keygenProgress([s({ epoch: 1 }), s({ epoch: 2, locked: true }), s({ epoch: 2 })], until, 11_000), 'keygen: keygen_until passed, waiting for lock-in (1/3 locked); epoch 2 on 2/3 nodes; 0 in a keygen');
});

test('custody txs carry raw hex and the outputs their inputs spend; unknown txids are left out', async () => {
  const script = bytesToHex(btc.p2tr(hexToBytes('79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798')).script);
  const prev = new btc.Transaction({ allowUnknownInputs: true });
  prev.addInput({ txid: new Uint8Array(32).fill(1), index: 0 });
  prev.addOutput({ script: hexToBytes(script), amount: 5_000n });
  prev.addOutput({ script: hexToBytes(script), amount: 7_000n });
  const spend = new btc.Transaction({ allowUnknownInputs: true });
  spend.addInput({ txid: hexToBytes(prev.id), index: 1 });
  spend.addOutput({ script: hexToBytes(script), amount: 6_000n });
  const txs = new Map<string, Tx>(
    [prev, spend].map((t) => {
      const hex = bytesToHex(t.toBytes(true, true));
      return [t.id, { txid: t.id, hex, status: { confirmed: true }, vout: [5_000n, 7_000n].slice(0, t.outputsLength).map((value) => ({ value, scriptPubKey: script })) }];
    }),
  );
  const chain = { getTx: async (id: string) => txs.get(id) ?? null } as unknown as ChainSource;
  const got = await custodyTxs(chain, [spend.id, 'ff'.repeat(32), spend.id]);
  assert.deepEqual(got, [{ txid: spend.id, hex: bytesToHex(spend.toBytes(true, true)), prevouts: [{ scriptPubKey: script, valueSats: 7_000 }] }]);
});

test('the text summary says what happened', () => {
  const s: DevnetSummary = {
    network: 'regtest',
    nodes: [{ peerId: '12D3KooWx', dataDir: '/d/node-1', api: 'http://127.0.0.1:47101' }],
    threshold: 3,
    groupKey: 'aa'.repeat(32),
    vaultAddress: 'bcrt1pvault',
    transfers: [
      { id: '0123456789abcdef', depositAddress: 'bcrt1pdep', amountSats: 50_000, payoutAddress: 'bcrt1ppay', status: 'paid', txid: 'bb'.repeat(32), confirmations: 2 },
      { id: 'fedcba9876543210', depositAddress: 'bcrt1pdep2', amountSats: 60_000, payoutAddress: 'bcrt1ppay2', status: 'pending', txid: null, confirmations: null },
      { id: '5555555555555555', depositAddress: 'bcrt1pdep3', amountSats: 70_000, payoutAddress: 'bcrt1ppay3', status: 'confirmed', txid: 'cc'.repeat(32), confirmations: 1 },
    ],
    txs: [{ txid: 'bb'.repeat(32), hex: '00', prevouts: [{ scriptPubKey: '51', valueSats: 1 }] }],
    rewards: { transfers: 6, minerFeesSats: '1200', poolSats: '10800', peers: [{ peerId: '12D3KooWx', accruedSats: '2160', paidSats: '1080', inFlightSats: '0', balanceSats: '1080' }] },
    balanceSheet: null,
  };
  const text = renderSummary(s);
  assert.match(text, /key: threshold 3, vault bcrt1pvault, group key a{64}/);
  assert.match(text, /node-1\s+12D3KooWx\s+http:\/\/127\.0\.0\.1:47101\s+\/d\/node-1/);
  assert.match(text, /transfers: 3 submitted, 1 paid, 1 confirmed \(not final yet\), 0 in flight, 1 pending/);
  assert.match(text, /55555555\s+70000\s+confirmed \(1 conf\)\s+c{64}/);
  assert.match(text, /01234567\s+50000\s+paid\s+b{64}\s+bcrt1ppay/);
  assert.match(text, /custody transactions broadcast: 1 .*\n\s+b{64}\s+1 input\n/);
  assert.match(text, /rewards: 10800 sats accrued from 6 transfer fee\(s\) less 1200 sats of miner fees; 1080 sats paid in reward outputs/);
  assert.match(text, /node-1\s+2160\s+1080\s+0\s+1080$/);
  assert.doesNotMatch(renderSummary({ ...s, rewards: null }), /rewards:/);
  assert.match(renderSummary({ ...s, threshold: null, groupKey: null, vaultAddress: null }), /key: none locked in before the devnet stopped/);
  // The balance sheet closes the summary: its totals, then each problem (or that it balances).
  const amounts = { depositsIn: '180000', payouts: '174000', refunds: '0', rewards: '1080', minerFees: '1200', held: '3720', unexplained: '0', foreignIn: '0', transferFeesIn: '6000', rewardPools: '4800' };
  const sheet = { ...amounts, tipHeight: 140, custodyTxs: 2, transfersPaid: 3, rewardsByPeer: { '12D3KooWx': '1080' }, problems: [] };
  assert.match(renderSummary({ ...s, balanceSheet: sheet }), /\n\nbalance sheet at height 140: 2 custody tx\(s\), 3 transfer\(s\) paid\n  deposits in +180000\n[\s\S]*  held +3720\n  balanced: deposits in = payouts \+ refunds \+ rewards \+ miner fees \+ held/);
  assert.match(renderSummary({ ...s, balanceSheet: { ...sheet, problems: ['node-2: reward ledger not complete'] } }), /  PROBLEM: node-2: reward ledger not complete$/);
});

test('the live view follows each node\'s latest report: a transfer a reorg took back is no longer shown paid', async () => {
  let transfers: unknown[] = [];
  const api = { get: async (path: string) => (path === '/v1/transfers' ? transfers : []) } as unknown as ApiClient;
  const node: ViewNode = { name: 'node-1', api, peerId: 'P1', running: true };
  const lines: string[] = [];
  const view = new LiveView([node], (l) => lines.push(l));
  const t = (state: string, confirmations: number | null) => ({ request: { id: 'abcdef0123', amountSats: '1' }, state, txid: 'ee'.repeat(32), confirmations });
  for (const step of [t('in-flight', null), t('confirmed', 1), t('paid', 2), t('in-flight', null), t('confirmed', 1)]) {
    transfers = [step];
    await view.refresh();
  }
  assert.deepEqual(view.transfers.get('abcdef0123'), { state: 'confirmed', txid: 'ee'.repeat(32), confirmations: 1 });
  assert.deepEqual(lines.map((l) => l.replace(/ in e+…$/, '')), [
    'transfer abcdef01: new -> in-flight',
    'transfer abcdef01: in-flight -> confirmed (1 conf)',
    'transfer abcdef01: confirmed (1 conf) -> paid',
    'transfer abcdef01: paid -> in-flight',
    'transfer abcdef01: in-flight -> confirmed (1 conf)',
  ]);
});

test('the live view prints a line when a peer is paid reward outputs', async () => {
  let rewards: unknown = { complete: true, totals: { transfers: 3, minerFeesSats: '400', poolSats: '5600', remainderSats: '0' }, peers: [{ peerId: 'P1', accruedSats: '1120', paidSats: '0', inFlightSats: '0', balanceSats: '1120' }] };
  const api = { get: async (path: string) => (path === '/v1/rewards' ? rewards : []) } as unknown as ApiClient;
  const lines: string[] = [];
  const view = new LiveView([{ name: 'node-1', api, peerId: 'P1', running: true }], (l) => lines.push(l));
  await view.refresh();
  assert.deepEqual(lines, [], 'nothing paid yet');
  rewards = { ...(rewards as object), peers: [{ peerId: 'P1', accruedSats: '1120', paidSats: '0', inFlightSats: '1120', balanceSats: '0' }] };
  await view.refresh();
  await view.refresh();
  assert.deepEqual(lines, ['rewards: node-1 paid 1120 sats in reward outputs (1120 of them not in a block yet); accrued 1120, balance 0']);
  assert.equal(view.rewards?.peers[0]!.inFlightSats, '1120');
});
