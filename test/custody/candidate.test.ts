import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha512_256 } from '@noble/hashes/sha2.js';
import { Transaction } from '@scure/btc-signer';
import {
  roundAnchor, buildCandidate, chooseCandidate, anchorHeight, fromStoredRequest, summarize, estimateVsize, assembleSignedTx, peerTableChecksum, commitmentScript, parseCommitment,
  type CandidateView, type CandidateParams, type TransferRequest, type DepositUtxo, type VaultUtxo, type CandidateSummary,
} from '../../src/custody/candidate.js';
import { taprootOutputKey, depositTweak, scriptPubKeyFor, addressFromScript, scriptFromAddress } from '../../src/crypto/taproot.js';
import type { RewardLedgerView } from '../../src/custody/reward-balance.js';
import type { EpochKey } from '../../src/crypto/types.js';

const internal = bytesToHex(schnorr.getPublicKey(hexToBytes('01'.padStart(64, '0'))));
const key: EpochKey = {
  epoch: 1, network: 'regtest', outputKey: taprootOutputKey(internal).outputKey, internalKey: internal,
  threshold: 2, committee: [], verifyingShares: {}, commitments: [],
};
const addr = (n: number) => addressFromScript('5120' + bytesToHex(schnorr.getPublicKey(hexToBytes(n.toString(16).padStart(64, '0')))), 'regtest');
const txid = (n: number) => n.toString(16).padStart(64, '0');
const params: CandidateParams = {
  minConfirmations: 2, replicationDelayMs: 10_000, transferFee: 1000n, feeRateMin: 1, feeRateMax: 50,
  orphanRefundAfterBlocks: 6,
};
const ROUND_START = 1_000_000;
const req = (id: string, amount: bigint, extra: Partial<TransferRequest> = {}): TransferRequest => ({
  id, amount, destination: addr(100 + id.length), refundAddress: addr(200), createdAt: ROUND_START - 60_000, expiresAt: ROUND_START + 3_600_000, ...extra,
});
const dep = (n: number, requestId: string | null, value: bigint, height = 95, extra: Partial<DepositUtxo> = {}): DepositUtxo => ({
  txid: txid(n), vout: n % 3, value, height, requestId,
  scriptPubKey: requestId ? scriptPubKeyFor(key, depositTweak(key, requestId)) : scriptPubKeyFor(key, depositTweak(key, 'unknown')), ...extra,
});
const vault = (n: number, value: bigint, height = 90): VaultUtxo => ({ txid: txid(n), vout: 0, value, height, scriptPubKey: scriptPubKeyFor(key) });
const peers = [{ peerId: 'peerB', rewardAddress: addr(301) }, { peerId: 'peerA', rewardAddress: addr(302) }, { peerId: 'peerC', rewardAddress: addr(303) }];
/** The reward ledger: peerA and peerB reached the 1000-sat minimum, peerC did not; peerD (not a participant) did. */
const ledger = (): RewardLedgerView => ({
  minPayout: 1000n,
  complete: true,
  rows: [
    { peerId: 'peerA', height: 80, accrued: 700n, paid: 0n }, { peerId: 'peerA', height: 85, accrued: 700n, paid: 0n },
    { peerId: 'peerB', height: 80, accrued: 1000n, paid: 0n },
    { peerId: 'peerC', height: 80, accrued: 999n, paid: 0n },
    { peerId: 'peerD', height: 80, accrued: 5000n, paid: 0n },
  ],
});

function baseView(): CandidateView {
  return {
    key, roundId: 42, roundStartMs: ROUND_START, anchorHeight: 100, feeRate: 2,
    requests: [req('r1', 50_000n), req('r2', 20_000n), req('r3', 10_000n, { expiresAt: ROUND_START - 1 })],
    deposits: [dep(11, 'r1', 50_000n), dep(12, 'r2', 25_000n), dep(13, 'r3', 10_000n), dep(14, 'r1', 1n, 100) /* too fresh */],
    vaultUtxos: [vault(21, 100_000n), vault(22, 40_000n)],
    peers,
    rewards: ledger(),
  };
}

function shuffle<T>(a: T[], seed: number): T[] {
  const out = [...a];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('same view in any order gives byte-identical candidates', () => {
  const a = buildCandidate(baseView(), params)!;
  assert.ok(a);
  for (let seed = 1; seed < 6; seed++) {
    const v = baseView();
    const b = buildCandidate({ ...v, requests: shuffle(v.requests, seed), deposits: shuffle(v.deposits, seed + 7), vaultUtxos: shuffle(v.vaultUtxos, seed + 3), peers: shuffle(v.peers, seed) }, params)!;
    assert.equal(b.unsignedTx, a.unsignedTx);
    assert.equal(b.doc, a.doc);
    assert.equal(b.docHash, a.docHash);
    assert.deepEqual(b.sighashes, a.sighashes);
  }
  assert.equal(a.docHash, bytesToHex(sha512_256(hexToBytes(a.doc))));
});

test('candidate content: payouts, excess refund, expired refund, rewards, commitment, change, fee', () => {
  const c = buildCandidate(baseView(), params)!;
  assert.deepEqual(c.transferIds, ['r1', 'r2']);
  assert.deepEqual(c.refunds, [`${txid(13)}:${13 % 3}`]);
  const tx = Transaction.fromRaw(hexToBytes(c.unsignedTx), { allowUnknownOutputs: true });
  assert.equal(tx.version, 2);
  assert.equal(tx.lockTime, 100);
  assert.equal(tx.inputsLength, 5); // 3 deposits (fresh one excluded) + 2 vault utxos
  for (let i = 0; i < tx.inputsLength; i++) assert.equal(tx.getInput(i).sequence, 0xfffffffd);
  // inputs ascending by txid
  const ids = c.inputs.map((i) => i.txid);
  assert.deepEqual(ids, [...ids].sort());
  const byKind = (k: string) => c.outputs.filter((o) => o.kind === k);
  assert.deepEqual(byKind('payout').map((o) => [o.requestId, o.amount]).sort(), [['r1', 49_000n], ['r2', 19_000n]]);
  // r2 overpaid by 5000: 5000 - transferFee back; r3 expired: 10000 - transferFee back
  assert.deepEqual(byKind('refund').map((o) => [o.requestId, o.amount]).sort(), [['r2', 4000n], ['r3', 9000n]]);
  // whole balances at or above the minimum, to participants only (peerD is not one)
  assert.deepEqual(byKind('reward').map((o) => [o.peerId, o.amount, o.script]).sort(), [['peerA', 1400n, scriptFromAddress(addr(302), 'regtest')], ['peerB', 1000n, scriptFromAddress(addr(301), 'regtest')]]);
  assert.equal(byKind('commitment')[0]!.script, commitmentScript(42, key.epoch, peerTableChecksum(peers)));
  assert.deepEqual(parseCommitment(byKind('commitment')[0]!.script), { roundId: 42, epoch: 1 });
  assert.equal(byKind('change').length, 1);
  assert.equal(byKind('change')[0]!.script, scriptPubKeyFor(key));
  // amounts sorted ascending (BIP69)
  const amts = c.outputs.map((o) => o.amount);
  assert.deepEqual(amts, [...amts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  const totalIn = c.inputs.reduce((s, i) => s + i.value, 0n);
  const totalOut = c.outputs.reduce((s, o) => s + o.amount, 0n);
  assert.equal(totalIn - totalOut, c.fee);
  assert.equal(c.fee, BigInt(Math.ceil(c.vsize * 2)));
  // tweaks: deposits tweaked by their request, vault untweaked
  for (const i of c.inputs) assert.equal(i.tweak, i.kind === 'deposit' ? depositTweak(key, i.requestId!) : undefined);
  // the vsize estimate is exact once 64-byte signatures are in
  const signed = assembleSignedTx(c, c.inputs.map(() => '00'.repeat(64)));
  assert.equal(signed.vsize, c.vsize);
  assert.equal(estimateVsize(1, ['5120' + '00'.repeat(32)]), 111);
});

test('fee rate is clamped to the configured bounds', () => {
  assert.equal(buildCandidate({ ...baseView(), feeRate: 500 }, params)!.feeRate, 50);
  assert.equal(buildCandidate({ ...baseView(), feeRate: 0.1 }, params)!.feeRate, 1);
});

test('no transfer, no candidate', () => {
  const v = baseView();
  assert.equal(buildCandidate({ ...v, deposits: v.deposits.filter((d) => d.requestId === 'r3') }, params), null);
  // requests younger than the replication delay are not used yet
  assert.equal(buildCandidate({ ...v, requests: v.requests.map((r) => ({ ...r, createdAt: ROUND_START - 5_000 })) }, params), null);
  // deposits not yet confirmed enough at the anchor
  assert.equal(buildCandidate({ ...v, anchorHeight: 95 }, params), null);
  // transfers already in flight are not paid again
  assert.equal(buildCandidate({ ...v, excludedTransfers: ['r1', 'r2'] }, params), null);
});

test('deposit whose script is not the request deposit address is ignored', () => {
  const v = baseView();
  v.deposits = [dep(11, 'r1', 50_000n, 95, { scriptPubKey: scriptPubKeyFor(key) })];
  assert.equal(buildCandidate(v, params), null);
});

test('orphan deposits are refunded only after waiting and with a refund address', () => {
  const v = baseView();
  v.deposits.push(dep(31, 'ghost', 7000n, 96, { refundAddress: addr(400) }));
  assert.deepEqual(buildCandidate(v, params)!.refunds.includes(`${txid(31)}:1`), false); // 5 confs < 6
  v.deposits[v.deposits.length - 1]!.height = 95;
  assert.equal(buildCandidate(v, params)!.refunds.includes(`${txid(31)}:1`), true);
});

test('locked outpoints are not spent twice; replacement spends the same inputs at a higher fee', () => {
  const v = baseView();
  const first = buildCandidate(v, params)!;
  const locked = first.inputs.map((i) => ({ txid: i.txid, vout: i.vout }));
  // a new request arrives; a normal candidate excludes the in-flight transfers and their inputs
  const v2 = { ...baseView(), excludedTransfers: ['r1', 'r2'], lockedOutpoints: locked };
  v2.requests.push(req('r4', 30_000n));
  v2.deposits.push(dep(15, 'r4', 30_000n));
  v2.vaultUtxos.push(vault(23, 5_000n));
  const next = buildCandidate(v2, params)!;
  assert.deepEqual(next.transferIds, ['r4']);
  for (const i of next.inputs) assert.ok(!locked.some((l) => l.txid === i.txid && l.vout === i.vout));
  // replacement
  const firstRewards = first.outputs.filter((o) => o.kind === 'reward').map((o) => ({ peerId: o.peerId!, script: o.script, amount: o.amount }));
  assert.equal(firstRewards.length, 2);
  // the replacement repeats the replaced tx's rewards (not the ledger's, which counts them in flight)
  const rep = buildCandidate({ ...v2, roundId: 43, replace: { txid: first.txid, inputs: locked, feeRate: first.feeRate, transferIds: first.transferIds, rewards: firstRewards } }, params)!;
  assert.deepEqual(rep.inputs.map((i) => `${i.txid}:${i.vout}`), first.inputs.map((i) => `${i.txid}:${i.vout}`));
  assert.deepEqual(rep.transferIds, ['r1', 'r2']);
  assert.ok(rep.feeRate > first.feeRate);
  assert.ok(rep.fee >= first.fee + BigInt(rep.vsize));
  assert.equal(rep.replaces, first.txid);
  assert.deepEqual(rep.refunds, first.refunds);
  assert.deepEqual(rep.outputs.filter((o) => o.kind !== 'change' && o.kind !== 'commitment').map((o) => [o.kind, o.amount]),
    first.outputs.filter((o) => o.kind !== 'change' && o.kind !== 'commitment').map((o) => [o.kind, o.amount]));
  // cannot bump beyond the maximum
  assert.equal(buildCandidate({ ...v2, replace: { txid: first.txid, inputs: locked, feeRate: 50, transferIds: first.transferIds } }, params), null);
});

test('insufficient vault funds drop the rewards first', () => {
  const v = baseView();
  v.vaultUtxos = [];
  v.requests = [req('r1', 50_000n)];
  v.deposits = [dep(11, 'r1', 50_000n)];
  v.rewards = { ...ledger(), rows: [{ peerId: 'peerA', height: 80, accrued: 3_000n, paid: 0n }] };
  const c = buildCandidate({ ...v, feeRate: 5 }, params)!;
  assert.equal(c.outputs.filter((o) => o.kind === 'reward').length, 0);
  assert.deepEqual(c.transferIds, ['r1']);
});

test('chooseCandidate: exact match with most transfers, else closest intersection', () => {
  const s = (docHash: string, transferIds: string[], feeRate = 2): CandidateSummary => ({ docHash, anchorHeight: 100, feeRate, transferIds, refunds: [] });
  const own = s('aa', ['r1', 'r2', 'r3']);
  // two peers hold a candidate with a subset of ours; t = 3 supporters with us? no: 2 -> intersection
  let ch = chooseCandidate(own, [s('bb', ['r1', 'r2']), s('bb', ['r1', 'r2'])], 2);
  assert.equal(ch.kind, 'exact');
  assert.equal(ch.kind === 'exact' && ch.docHash, 'bb');
  // candidate with a transfer we cannot validate is never adopted as exact
  ch = chooseCandidate(own, [s('cc', ['r1', 'r9']), s('cc', ['r1', 'r9'])], 2);
  assert.equal(ch.kind, 'intersection');
  assert.deepEqual(ch.kind === 'intersection' && ch.restriction.transferIds, ['r1']);
  // three nodes with different sets agree on the intersection present in >= t candidates
  ch = chooseCandidate(own, [s('dd', ['r1', 'r2', 'r4'], 3), s('ee', ['r2', 'r3'], 5)], 2);
  assert.deepEqual(ch.kind === 'intersection' && ch.restriction, { transferIds: ['r1', 'r2', 'r3'], refunds: [], feeRate: 3 });
  // own is exact when t peers share it
  ch = chooseCandidate(own, [s('aa', ['r1', 'r2', 'r3'])], 2);
  assert.equal(ch.kind === 'exact' && ch.docHash, 'aa');
  assert.equal(chooseCandidate(null, [own], 1).kind, 'none');
  assert.equal(chooseCandidate(s('aa', ['r1']), [s('x', ['r2']), s('y', ['r3'])], 2).kind, 'none');
});

test('a restriction rebuilds the other candidate byte for byte', () => {
  const full = buildCandidate(baseView(), params)!;
  const v = baseView();
  v.deposits = v.deposits.filter((d) => d.requestId !== 'r2');
  v.requests = v.requests.filter((r) => r.id !== 'r2');
  const smaller = buildCandidate(v, params)!;
  const ch = chooseCandidate(summarize(full), [summarize(smaller), summarize(smaller)], 2);
  assert.equal(ch.kind, 'exact');
  const rebuilt = buildCandidate(baseView(), params, ch.kind === 'exact' ? ch.restriction : undefined)!;
  assert.equal(rebuilt.docHash, smaller.docHash);
});

test('anchor height: the highest tip at least t peers reached', () => {
  assert.equal(anchorHeight([105, 100, 103, 101, 99], 3), 101);
  assert.equal(anchorHeight([105, 100, 103, 101, 99], 1), 105);
  assert.equal(anchorHeight([105, 100], 3), null);
  assert.equal(anchorHeight([100, 100, 100, -1, 1.5], 3), 100);
});

test('stored request records map onto the candidate view', () => {
  const r = fromStoredRequest({
    id: 'ab'.repeat(16), network: 'regtest', epoch: 1, amountSats: 1234n, payoutAddress: 'p', refundAddress: 'r', expiry: 2000,
    depositAddress: 'd', timestamp: 1500, timestampIndex: 0, origin: 'o', signature: '00'.repeat(64),
  });
  assert.deepEqual(r, { id: 'ab'.repeat(16), amount: 1234n, destination: 'p', refundAddress: 'r', createdAt: 1500, expiresAt: 2_000_000 });
});

test('roundAnchor: the height most candidates share, if t do; ties go to the lower height', () => {
  assert.equal(roundAnchor([200, 200, 200, 199], 3), 200);
  assert.equal(roundAnchor([200, 200, 199, 199], 2), 199);
  assert.equal(roundAnchor([201, 200, 199], 2), null);
  assert.equal(roundAnchor([], 1), null);
  assert.equal(roundAnchor([200, 200, -1, -1, Number.NaN, 1.5], 2), 200);
});
