// The chaos harness's parts, without a federation: the seeded schedule, the chain audit against
// an in-process devchain, and each database check on synthetic data (each one shown to fail on
// the fault it exists to catch).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as btc from '@scure/btc-signer';
import { hexToBytes } from '@noble/hashes/utils.js';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import { addressToScript } from '../../src/chain/network.js';
import { BYZANTINE_MODES } from '../support/byzantine/modes.js';
import { auditChain, inputProblem, type ChainAudit } from './chain-audit.js';
import {
  commitmentCheck, culpritFinding, epochAttackCheck, epochTrustCheck, groupKeyCheck, integrityCheck, paidOnBestChainCheck, paymentCheck, reorgFollowedCheck, silenceNoticed, type NodeDbView,
} from './db-audit.js';
import { custodyBlocks, reorgCustodyBlocks } from './harness.js';
import { commitmentScript } from '../../src/custody/candidate.js';
import { makeSchedule, FAULT_KINDS } from './schedule.js';
import { parseChaosArgs } from './args.js';
import { p2trKey, p2wpkhKey, spend } from '../chain/wallet.js';

describe('fault schedule', () => {
  const base = { nodes: 5, threshold: 4, faults: 6, roundMs: 10_000 };

  it('is a function of the seed', () => {
    assert.deepEqual(makeSchedule({ ...base, seed: 'a' }), makeSchedule({ ...base, seed: 'a' }));
    assert.notDeepEqual(makeSchedule({ ...base, seed: 'a' }), makeSchedule({ ...base, seed: 'b' }));
  });

  it('has every kind once when faults allow; partitions cut a minority; byzantine modes cycle', () => {
    for (const seed of ['1', '2', '3', '4', '5', '6', '7', '8']) {
      const s = makeSchedule({ ...base, seed, faults: 12 });
      assert.deepEqual([...new Set(s.slice(0, FAULT_KINDS.length).map((f) => f.kind))].sort(), [...FAULT_KINDS].sort(), seed);
      for (const f of s) {
        assert.ok(f.node >= 0 && f.node < 5);
        if (f.kind === 'partition') {
          assert.ok(f.group!.length >= 1 && f.group!.length <= 5 - 4, 'at most n - t cut off');
          assert.ok(f.group!.includes(f.node));
        }
        if (f.kind === 'kill') assert.ok(f.holdMs >= 2_000 && f.holdMs <= 8_000);
        if (f.kind === 'byzantine') assert.ok(f.holdMs === 20_000 || f.holdMs === 30_000);
        if (f.kind === 'reorg') assert.ok(typeof f.drop === 'boolean' && (f.extraDepth === 0 || f.extraDepth === 1) && f.holdMs === 0);
      }
    }
    const modes = makeSchedule({ ...base, seed: 'm', faults: 8, kinds: ['byzantine'] }).map((f) => f.mode);
    assert.deepEqual([...modes].sort(), [...BYZANTINE_MODES].sort(), 'eight byzantine faults show all eight modes');
    assert.deepEqual(makeSchedule({ ...base, seed: 'm', faults: 2, kinds: ['byzantine'], modes: ['flood'] }).map((f) => f.mode), ['flood', 'flood']);
  });

  it('refuses what it cannot schedule', () => {
    assert.throws(() => makeSchedule({ ...base, seed: 'x', kinds: ['meteor' as never] }), /unknown fault kind "meteor"/);
    assert.throws(() => makeSchedule({ ...base, seed: 'x', modes: ['evil' as never] }), /unknown byzantine mode "evil"/);
    assert.deepEqual(makeSchedule({ ...base, seed: 'e', faults: 2, kinds: ['byzantine'], modes: ['forged-epoch', 'replayed-record'] }).map((f) => f.mode).sort(), ['forged-epoch', 'replayed-record']);
    assert.throws(() => makeSchedule({ ...base, seed: 'x', nodes: 2 }), /nodes must be >= 3/);
  });

  it('arguments', () => {
    assert.deepEqual(parseChaosArgs(['--seed', 's', '--nodes', '7', '--kinds', 'kill,partition', '--modes', 'flood', '--json']), {
      seed: 's', nodes: 7, kinds: ['kill', 'partition'], modes: ['flood'], json: true,
    });
    assert.throws(() => parseChaosArgs(['--nodes', '5']), /--seed is required/);
    assert.throws(() => parseChaosArgs(['--seed', 's', '--kinds', 'kill,fire']), /unknown fault kind "fire"/);
    assert.throws(() => parseChaosArgs(['--seed', 's', '--nodes', '2']), /--nodes must be a whole number from 4 to 30/);
    assert.throws(() => parseChaosArgs(['--seed', 's', '--loud']), /unknown argument "--loud"/);
    assert.deepEqual(parseChaosArgs(['--seed=s', '--round-sec=10', '--keep']), { seed: 's', roundSec: 10, keep: true, json: false });
    assert.throws(() => parseChaosArgs(['--seed', 's', '--json=1']), /--json takes no value/);
    assert.throws(() => parseChaosArgs(['--seed']), /--seed needs a value/);
  });
});

describe('chain audit', () => {
  let dc: RunningDevchain;
  let dev: DevchainClient;
  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    dev = new DevchainClient(dc.url);
  });
  after(() => dc.close());

  it('verifies every confirmed spend on its own and indexes outputs by script', async () => {
    const w = p2wpkhKey(41);
    const t = p2trKey(42);
    const dest = p2trKey(43);
    const fw = await dev.faucet(w.address, 100_000n);
    const ft = await dev.faucet(t.address, 80_000n);
    await dev.mine(1);
    const s = spend([{ ...fw, value: 100_000n, key: w }, { ...ft, value: 80_000n, key: t }], [{ address: dest.address, value: 170_000n }]);
    await dev.faucet(dest.address, 5_000n);
    const { txid } = { txid: await fetch(`${dc.url}/tx`, { method: 'POST', body: s.hex }).then((r) => r.text()) };
    assert.equal(txid, s.txid);
    await dev.mine(1);
    const a = await auditChain(dc.url);
    assert.deepEqual(a.invalid, []);
    assert.deepEqual(a.doubleSpends, []);
    assert.equal(a.inputsVerified.p2wpkh, 1);
    assert.equal(a.inputsVerified.p2tr, 1);
    const outs = a.outputsByScript.get(addressToScript(dest.address, 'regtest'))!;
    assert.deepEqual(outs.map((o) => o.value).sort((x, y) => (x < y ? -1 : 1)), [5_000n, 170_000n]);
    assert.equal(a.spentBy.get(`${fw.txid}:${fw.vout}`), s.txid);
    assert.equal(a.txHeight.get(s.txid), a.tip);
  });

  it('the reorg fault disconnects the blocks from the latest custody tx; the paid-on-best-chain audit then fails a node still reporting it paid', async () => {
    const w = p2wpkhKey(46);
    const payee = p2trKey(47);
    const f = await dev.faucet(w.address, 90_000n);
    await dev.mine(1);
    // a "custody tx": it carries the MNC2 commitment output, as every round's tx does
    const custody = spend([{ ...f, value: 90_000n, key: w }], [{ address: payee.address, value: 80_000n }, { script: hexToBytes(commitmentScript(9, 1, 'ab'.repeat(32))), value: 0n }]);
    dc.chain.submit(custody.hex);
    await dev.mine(1);
    const block = dc.chain.height();
    await dev.mine(1);
    assert.deepEqual(custodyBlocks(dc.chain), [], 'one block above it: too fresh for the nodes to have seen');
    await dev.mine(1);
    assert.deepEqual(custodyBlocks(dc.chain)[0], { height: block, txids: [custody.txid] });
    const req = { id: 'r-reorg', payoutAddress: payee.address, amountSats: 82_000n };
    const node = view('n1', { requests: [req], transfers: [{ requestId: 'r-reorg', state: 'paid', txid: custody.txid }] });
    assert.equal(paidOnBestChainCheck([node], await auditChain(dc.url)).ok, true);

    const r = reorgCustodyBlocks(dc.chain, { drop: true, extraDepth: 0 });
    assert.deepEqual(r, { depth: 3, txids: [custody.txid] });
    assert.equal(dc.chain.txStatus(custody.txid).confirmed, false);
    assert.equal(dc.chain.outspend(f.txid, f.vout).spent, false, 'forgotten: its input is unspent again');
    assert.deepEqual(custodyBlocks(dc.chain), []);
    const after = paidOnBestChainCheck([node], await auditChain(dc.url));
    assert.equal(after.ok, false);
    assert.match(after.detail, new RegExp(`n1: r-reorg reported paid by ${custody.txid}, but 0 outputs pay its address on the best chain`));
    assert.equal(reorgCustodyBlocks(dc.chain, { drop: true }), null, 'nothing left to aim at');
  });

  it('names an input whose signature does not verify', () => {
    const t = p2trKey(44);
    const good = spend([{ txid: '11'.repeat(32), vout: 0, value: 50_000n, key: t }], [{ address: p2trKey(45).address, value: 40_000n }]);
    const bad = spend([{ txid: '11'.repeat(32), vout: 0, value: 50_000n, key: t }], [{ address: p2trKey(45).address, value: 40_000n }], {
      mutateWitness: (w) => {
        w[0]![0]![5] ^= 1;
      },
    });
    const parse = (hex: string) => btc.Transaction.fromRaw(hexToBytes(hex), { allowUnknownOutputs: true });
    assert.deepEqual(inputProblem(parse(good.hex), 0, [t.script], [50_000n]), { kind: 'p2tr', problem: null });
    assert.deepEqual(inputProblem(parse(bad.hex), 0, [t.script], [50_000n]), { kind: 'p2tr', problem: 'BIP340 signature does not verify' });
    assert.equal(inputProblem(parse(good.hex), 0, [t.script], [50_001n]).problem, 'BIP340 signature does not verify', 'the amount is committed to');
    assert.match(inputProblem(parse(good.hex), 0, [hexToBytes('76a914' + '00'.repeat(20) + '88ac')], [50_000n]).problem!, /cannot verify/);
  });
});

function view(name: string, over: Partial<NodeDbView> = {}): NodeDbView {
  return { name, peerId: `peer-${name}`, file: `/x/${name}`, integrity: 'ok', commitments: [], epochs: [], transfers: [], requests: [], custodyTxs: [], roundLog: [], blocklist: [], epochRecords: [], violations: [], ...over };
}

function chain(outputs: Array<[string, bigint, string]>, over: Partial<ChainAudit> = {}): ChainAudit {
  const byScript = new Map<string, ChainAudit['outputsByScript'] extends Map<string, infer V> ? V : never>();
  outputs.forEach(([script, value, txid], i) => byScript.set(script, [...(byScript.get(script) ?? []), { txid, vout: i, value, script, height: 10 }]));
  return { tip: 10, blocks: 11, txs: 20, nullInputTxs: 10, inputsVerified: { p2tr: 3, p2wpkh: 0 }, invalid: [], doubleSpends: [], outputsByScript: byScript, spentBy: new Map(), txHeight: new Map([['aa', 5], ['bb', 6]]), ...over };
}

describe('database checks', () => {
  const A = p2trKey(50).address;
  const scriptA = addressToScript(A, 'regtest');

  it('nonce commitments: a commitment in two sessions fails, naming both; nothing recorded after signing fails', () => {
    const c = (commitment: string, roundId: number) => ({ commitment, roundId, attempt: 0 });
    assert.equal(commitmentCheck([view('n1', { commitments: [c('aa', 1)] }), view('n2', { commitments: [c('bb', 1)] })], 1).ok, true);
    const dup = commitmentCheck([view('n1', { commitments: [c('aa', 1)] }), view('n2', { commitments: [c('bb', 1), c('aa', 2)] })], 1);
    assert.equal(dup.ok, false);
    assert.match(dup.detail, /n1 round 1 attempt 0 and n2 round 2 attempt 0/);
    assert.equal(commitmentCheck([view('n1')], 2).ok, false);
    assert.equal(commitmentCheck([view('n1')], 0).ok, true);
  });

  it('group key: all nodes on one locked key, the one the run locked in', () => {
    const e = (k: string) => [{ epoch: 1, outputKey: 'old', status: 'retired' }, { epoch: 2, outputKey: k, status: 'locked' }];
    assert.equal(groupKeyCheck([view('n1', { epochs: e('K') }), view('n2', { epochs: e('K') })], 'K').ok, true);
    assert.equal(groupKeyCheck([view('n1', { epochs: e('K') }), view('n2', { epochs: e('L') })], null).ok, false);
    assert.equal(groupKeyCheck([view('n1', { epochs: e('K') })], 'L').ok, false);
    assert.equal(groupKeyCheck([view('n1')], null).ok, false);
  });

  it('epoch trust: every record within the rules and nobody honest flagged passes; a forged epoch or a framed member fails', () => {
    const committee = (...ids: string[]) => ids.map((peerId) => ({ peerId }));
    const rec = (epoch: number, kind: 'keygen' | 'regroup', key: string, ids: string[], threshold: number) => ({ kind, epoch, previousEpoch: epoch > 1 ? epoch - 1 : null, outputKey: key, committee: committee(...ids), threshold });
    const honest = [rec(1, 'keygen', 'K', ['a', 'b', 'c', 'd'], 3), rec(2, 'regroup', 'K', ['a', 'b', 'c', 'e'], 3)];
    const good = [{ record: honest[0]!, signers: ['a', 'b', 'c', 'd'] }, { record: honest[1]!, signers: ['a', 'b', 'c', 'e', 'd'] }];
    assert.equal(epochTrustCheck([view('n1', { epochRecords: good })], ['a', 'b', 'c', 'd', 'e']).ok, true);
    // A keygen epoch made by one staked non-member (t = 1, no consent of the key holders).
    const forged = [good[0]!, { record: rec(2, 'keygen', 'X', ['x'], 1), signers: ['x'] }];
    const f = epochTrustCheck([view('n1', { epochRecords: forged })], ['a', 'b', 'c', 'd']);
    assert.equal(f.ok, false);
    assert.match(f.detail, /threshold 1 of 1/);
    assert.match(f.detail, /0 of the previous committee signed, threshold 3/);
    const rekey = [good[0]!, { record: rec(2, 'regroup', 'X', ['a', 'b', 'c', 'd'], 3), signers: ['a', 'b', 'c', 'd'] }];
    assert.match(epochTrustCheck([view('n1', { epochRecords: rekey })], []).detail, /regroup changed the key/);
    const framed = epochTrustCheck([view('n1', { epochRecords: good, violations: ['b', 'z'] })], ['a', 'b', 'c', 'd']);
    assert.deepEqual([framed.ok, framed.detail], [false, 'n1 holds violation evidence against honest b']);
  });

  it('payments: twice paid, a wrong amount, a claim the chain does not back, a shared input, a chain double spend all fail', () => {
    const req = { id: 'r1', payoutAddress: A, amountSats: 50_000n };
    const fee = 2_000n;
    assert.equal(paymentCheck([view('n1', { requests: [req], transfers: [{ requestId: 'r1', state: 'paid', txid: 'aa' }] })], chain([[scriptA, 48_000n, 'aa']]), fee).ok, true);
    assert.match(paymentCheck([view('n1', { requests: [req] })], chain([[scriptA, 48_000n, 'aa'], [scriptA, 48_000n, 'bb']]), fee).detail, /r1: paid 2 times/);
    assert.match(paymentCheck([view('n1', { requests: [req] })], chain([[scriptA, 47_000n, 'aa']]), fee).detail, /payout 47000 sats, expected 48000/);
    assert.match(paymentCheck([view('n1', { requests: [req], transfers: [{ requestId: 'r1', state: 'paid', txid: 'cc' }] })], chain([[scriptA, 48_000n, 'aa']]), fee).detail, /calls it paid by cc/);
    const tx = (txid: string) => ({ txid, state: 'confirmed', inputs: ['dd:0'], transferIds: [] });
    assert.match(paymentCheck([view('n1', { custodyTxs: [tx('aa')] }), view('n2', { custodyTxs: [tx('bb')] })], chain([]), fee).detail, /input dd:0 in confirmed custody txs aa and bb/);
    assert.match(paymentCheck([view('n1')], chain([], { doubleSpends: ['ee:1 spent by aa and by bb'] }), fee).detail, /double spend on chain/);
  });

  it('paid on the best chain: a paid report needs exactly one output, in the tx it names', () => {
    const req = { id: 'r1', payoutAddress: A, amountSats: 50_000n };
    const paid = (txid: string) => view('n1', { requests: [req], transfers: [{ requestId: 'r1', state: 'paid', txid }] });
    assert.equal(paidOnBestChainCheck([paid('aa')], chain([[scriptA, 48_000n, 'aa']])).ok, true);
    assert.match(paidOnBestChainCheck([paid('aa')], chain([])).detail, /n1: r1 reported paid by aa, but 0 outputs pay its address/);
    assert.match(paidOnBestChainCheck([paid('aa')], chain([[scriptA, 48_000n, 'aa'], [scriptA, 48_000n, 'bb']])).detail, /but 2 outputs pay/);
    assert.match(paidOnBestChainCheck([paid('aa')], chain([[scriptA, 48_000n, 'bb']])).detail, /the best chain pays it in bb/);
    const confirmedOnly = view('n1', { requests: [req], transfers: [{ requestId: 'r1', state: 'confirmed', txid: 'aa' }] });
    assert.equal(paidOnBestChainCheck([confirmedOnly], chain([])).ok, true, 'only paid (final) reports are held to it');
  });

  it('reorg followed: every node that had a reorged tx confirmed logged its block leaving the best chain', () => {
    const row = (time: number, decision: string, reason: string) => ({ roundId: 1, phase: 'chain', time, peer: null, digest: 'tx1', decision, reason });
    const confirmed = row(5, 'confirmed', 'tx1 in block b1 at height 9');
    const noticed = view('n1', { roundLog: [confirmed, row(12, 'reverted', 'block b1 at height 9 left the best chain (now b2 at that height)')] });
    const moved = view('n2', { roundLog: [confirmed, row(13, 'confirmed', 'block b1 at height 9 left the best chain; tx1 is in block b3 at height 10')] });
    const blind = view('n3', { roundLog: [confirmed] });
    const never = view('n4');
    const fault = { index: 0, startedAt: 10, reorged: ['tx1'] };
    assert.equal(reorgFollowedCheck([noticed, moved, never], [fault]).ok, true);
    const r = reorgFollowedCheck([noticed, blind], [fault]);
    assert.equal(r.ok, false);
    assert.match(r.detail, /fault 0: n3 never noticed the disconnected block/);
    assert.match(reorgFollowedCheck([never], [fault]).detail, /no node had the reorged custody txs/);
  });

  it('integrity: any database not ok fails, named', () => {
    const r = integrityCheck([view('n1'), view('n2', { integrity: 'row 3 missing from index' })], [{ name: 'devchain/devchain.sqlite', integrity: 'ok' }]);
    assert.equal(r.ok, false);
    assert.match(r.detail, /n2: row 3 missing from index/);
    assert.equal(integrityCheck([view('n1')]).detail, 'PRAGMA integrity_check ok on 1 databases');
  });

  it('culprits: round-log evidence in the window, rejections in the log, and a Byzantine node that never acted fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'metanode-chaos-audit-'));
    try {
      const row = (time: number, peer: string, decision: string, reason: string) => ({ roundId: 1, phase: 'proposal', time, peer, decision, reason });
      const honest = [
        { view: view('n1', { roundLog: [row(1_500, 'bad', 'culprit', 'EQUIVOCATION: signed two different sign.proposal messages for sign.proposal')] }), logFile: join(dir, 'n1.log') },
        { view: view('n2', { roundLog: [row(9_000, 'bad', 'culprit', 'EQUIVOCATION: signed two different sign.proposal messages for sign.proposal')] }), logFile: join(dir, 'n2.log') },
      ];
      writeFileSync(join(dir, 'n1.log'), [JSON.stringify({ time: 1_200, msg: 'message rejected', from: 'bad', reason: 'not-json' }), 'not json', JSON.stringify({ time: 1_300, msg: 'message rejected', from: 'other', reason: 'oversized' })].join('\n'));
      const f = { culprit: 'bad', culpritName: 'n3', from: 1_000, to: 2_000, actions: 1 };
      const eq = culpritFinding({ ...f, mode: 'equivocate' }, honest);
      assert.deepEqual([eq.ok, eq.namedBy], [true, ['n1']], 'n2\'s entry is outside the window');
      assert.deepEqual(culpritFinding({ ...f, mode: 'garbage' }, honest).namedBy, ['n1']);
      assert.equal(culpritFinding({ ...f, mode: 'oversized' }, honest).ok, false, 'an oversized rejection of another peer is no evidence');
      assert.equal(culpritFinding({ ...f, mode: 'copied-proof' }, honest).ok, false);
      const idle = culpritFinding({ ...f, mode: 'equivocate', actions: 0 }, honest);
      assert.equal(idle.ok, false);
      assert.match(idle.detail, /never got to misbehave/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('epoch attacks: a stored forged key, an honest node moved back to a replayed epoch, or an honest peer blocked during the attack fails; refusals in the log name the attacker', () => {
    const rec = (epoch: number, key: string) => ({ record: { kind: 'keygen' as const, epoch, previousEpoch: epoch > 1 ? epoch - 1 : null, outputKey: key, committee: [{ peerId: 'peer-n1' }], threshold: 2 }, signers: ['peer-n1'] });
    const honestIds = ['peer-n1', 'peer-n2'];
    const forged = { index: 0, attacker: 'peer-n3', from: 1_000, to: 2_000, offered: [{ mode: 'forged-epoch', epoch: 4, outputKey: 'F', hash: 'h' }] };
    const replayed = { index: 1, attacker: 'peer-n3', from: 3_000, to: 4_000, offered: [{ mode: 'replayed-record', epoch: 2, outputKey: 'K', hash: 'h2' }] };
    const fine = [view('n1', { epochRecords: [rec(2, 'K'), rec(3, 'K')] }), view('n2', { epochRecords: [rec(3, 'K')] }), view('n3', { epochRecords: [rec(3, 'K'), rec(4, 'F')] })];
    const okCheck = epochAttackCheck(fine, [forged, replayed], honestIds);
    assert.deepEqual([okCheck.name, okCheck.ok], ['epoch-attacks-refused', true], okCheck.detail);
    const took = epochAttackCheck([view('n1', { epochRecords: [rec(3, 'K'), rec(4, 'F')] })], [forged], honestIds);
    assert.deepEqual([took.ok, took.detail], [false, 'fault 0: n1 stores the forged key of epoch 4']);
    assert.match(epochAttackCheck([view('n1', { epochRecords: [rec(1, 'K')] })], [replayed], honestIds).detail, /n1's latest epoch 1 is below the replayed epoch 2/);
    assert.equal(epochAttackCheck([view('n1', { epochRecords: [rec(1, 'K'), rec(2, 'K')] })], [replayed], honestIds).ok, true, 'a replay of the current record, held already');
    const blocked = view('n1', { epochRecords: [rec(3, 'K')], blocklist: [{ peerId: 'peer-n2', reason: 'bad-stake', since: 1_500, until: 9_000 }, { peerId: 'peer-n2', reason: 'TIMEOUT', since: 1_600, until: 9_000 }] });
    assert.match(epochAttackCheck([blocked], [forged], honestIds).detail, /n1 blocked honest peer-n2 \(bad-stake\)$/);
    assert.match(epochAttackCheck(fine, [{ ...forged, offered: [] }], honestIds).detail, /the attacker served nothing/);

    const dir = mkdtempSync(join(tmpdir(), 'metanode-chaos-audit-'));
    try {
      const refused = (time: number, from: string, reason: string) => JSON.stringify({ time, msg: 'epoch records refused', from, rejected: [{ epoch: 4, reason }] });
      writeFileSync(join(dir, 'n1.log'), [refused(1_200, 'bad', 'only 0 of the previous committee signed; its threshold is 4'), refused(3_500, 'bad', 'epoch 2 is at or below the sync cursor 3: not asked for, nothing taken from it')].join('\n'));
      writeFileSync(join(dir, 'n2.log'), [refused(1_300, 'other', 'only 0 of the previous committee signed; its threshold is 4'), refused(1_400, 'bad', 'committee member S has no stake known here (not yet eligible)')].join('\n'));
      writeFileSync(join(dir, 'n3.log'), refused(1_300, 'other', 'only 0 of the previous committee signed; its threshold is 4'));
      const honest = [{ view: view('n1'), logFile: join(dir, 'n1.log') }, { view: view('n2'), logFile: join(dir, 'n2.log') }, { view: view('n3'), logFile: join(dir, 'n3.log') }];
      const f = { culprit: 'bad', culpritName: 'n3', actions: 2 };
      assert.deepEqual(culpritFinding({ ...f, mode: 'forged-epoch', from: 1_000, to: 2_000 }, honest).namedBy, ['n1', 'n2'], 'n3 refused another peer');
      assert.deepEqual(culpritFinding({ ...f, mode: 'replayed-record', from: 3_000, to: 4_000 }, honest).namedBy, ['n1']);
      assert.equal(culpritFinding({ ...f, mode: 'replayed-record', from: 1_000, to: 2_000 }, honest).ok, false, 'a consent refusal is not the replay\'s evidence');
      writeFileSync(join(dir, 'n3.log'), JSON.stringify({ time: 5_500, msg: 'epoch sync: nothing new from a peer that announced a newer epoch', from: 'bad', announced: 4, known: [1] }));
      assert.deepEqual(culpritFinding({ ...f, mode: 'replayed-record', from: 3_000, to: 6_000 }, honest).namedBy, ['n1', 'n3'], 'a replay of records held here');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('silence: a timeout naming the peer, or a culprit row, counts as noticed', () => {
    const row = (decision: string, peer: string | null, reason: string) => ({ roundId: 1, phase: 'candidate', time: 5, peer, decision, reason });
    const views = [view('n1', { roundLog: [row('timeout', null, 'no candidate from X,Y')] }), view('n2', { roundLog: [row('sent', 'peer-n2', 'X')] }), view('n3', { roundLog: [row('culprit', 'X', 'TIMEOUT: silent')] })];
    assert.deepEqual(silenceNoticed('X', 0, 10, views), ['n1', 'n3']);
  });
});
