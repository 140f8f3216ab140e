// Unit tests of the per-phase pieces: message schemas, proposal binding, checksum comparison,
// cooldown, and the state machine's handling of local faults and malformed peer messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha512_256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes, concatBytes } from '@noble/hashes/utils.js';
import { MessageRegistry } from '../../../src/p2p/registry.js';
import {
  MSG, SIGNING_TOPIC, registerSigningMessageTypes, proposalPayloadSchema, commitPayloadSchema, candidatePayloadSchema,
} from '../../../src/rounds/signing/messages.js';
import { checkProposal, makeProposal, peerDocHash } from '../../../src/rounds/signing/proposal.js';
import { checkSigningSet } from '../../../src/rounds/signing/signing-set.js';
import { thresholdSetChecksum } from '../../../src/rounds/signing/checksum.js';
import { afterSigning, canSign, NO_COOLDOWN, seesSigningQuorum } from '../../../src/rounds/signing/cooldown.js';
import { startSigningRound, stepSigningRound } from '../../../src/rounds/signing/round.js';
import { DEFAULT_TIMEOUTS, type RoundConfig } from '../../../src/rounds/signing/types.js';
import { buildCandidate, type Candidate } from '../../../src/custody/candidate.js';
import { MetanodeError } from '../../../src/util/errors.js';
import { Harness, PARAMS, ROUND_ID, standardView } from './harness.js';

test('every message type registers on the signing topic; payload schemas are strict', () => {
  const reg = new MessageRegistry();
  registerSigningMessageTypes((t, s) => reg.register(t, s));
  registerSigningMessageTypes((t, s) => reg.register(t, s)); // idempotent
  assert.deepEqual(reg.typesOnTopic(SIGNING_TOPIC).sort(), Object.values(MSG).sort());
  const ok = { h0: 'aa'.repeat(32), h1: 'bb'.repeat(32), tssProof: 'cc'.repeat(64), sig: 'dd'.repeat(65) };
  assert.ok(proposalPayloadSchema.safeParse(ok).success);
  const { sig: _unsigned, ...unsigned } = ok;
  assert.ok(!proposalPayloadSchema.safeParse(unsigned).success, 'every round message but the final carries its sender\'s signature');
  assert.ok(!proposalPayloadSchema.safeParse({ ...ok, extra: 1 }).success);
  assert.ok(!proposalPayloadSchema.safeParse({ ...ok, h0: 'AA'.repeat(32) }).success);
  assert.ok(!commitPayloadSchema.safeParse({ attempt: 0, signers: ['a'], commitments: [{ identifier: 'aa'.repeat(32), hiding: '04' + 'aa'.repeat(32), binding: '02' + 'aa'.repeat(32) }], sig: 'dd'.repeat(65) }).success);
  assert.ok(candidatePayloadSchema.safeParse({ docHash: null, anchorHeight: 0, feeRate: 1, transferIds: [], refunds: [], sig: 'dd'.repeat(65) }).success);
});

test('proposal: <sha512_256(doc), sha512_256(peer_id || doc), tss_proof> and its checks', () => {
  const h = new Harness();
  const doc = buildCandidate(standardView(h.ks), PARAMS)!;
  const p = makeProposal('peerA', doc, 'ab'.repeat(64));
  assert.equal(p.h0, bytesToHex(sha512_256(hexToBytes(doc.doc))));
  assert.equal(p.h1, bytesToHex(sha512_256(concatBytes(utf8ToBytes('peerA'), hexToBytes(doc.doc)))));
  assert.equal(peerDocHash('peerA', doc.doc), p.h1);
  const parts = h.participants();
  const yes = () => true;
  assert.deepEqual(checkProposal(parts[0]!, p, doc, yes), { result: 'accept' });
  // sent by B with A's binding: rejected
  assert.deepEqual(checkProposal(parts[1]!, p, doc, yes), { result: 'reject', reason: 'bad-peer-binding' });
  assert.deepEqual(checkProposal(parts[0]!, p, doc, () => false), { result: 'reject', reason: 'invalid-tss-proof' });
  const other: Candidate = { ...doc, docHash: 'ff'.repeat(32) };
  assert.deepEqual(checkProposal(parts[0]!, p, other, yes), { result: 'ignore', reason: 'different-document' });
});

test('signing set checks', () => {
  const parts = new Set(['A', 'B', 'C', 'D']);
  assert.deepEqual(checkSigningSet('A', { members: ['A', 'B', 'C'] }, parts, 3), { result: 'accept' });
  assert.deepEqual(checkSigningSet('A', { members: ['A', 'B'] }, parts, 3), { result: 'ignore', reason: 'below-threshold' });
  assert.deepEqual(checkSigningSet('A', { members: ['A', 'B', 'Z'] }, parts, 3), { result: 'reject', reason: 'unknown-member' });
  assert.deepEqual(checkSigningSet('A', { members: ['A', 'A', 'B'] }, parts, 3), { result: 'reject', reason: 'duplicate-member' });
  assert.deepEqual(checkSigningSet('D', { members: ['A', 'B', 'C'] }, parts, 3), { result: 'reject', reason: 'sender-not-in-own-set' });
});

test('the threshold-set checksum binds round, document and ordered set', () => {
  const x = thresholdSetChecksum(1, 'aa'.repeat(32), ['A', 'B', 'C']);
  assert.notEqual(x, thresholdSetChecksum(1, 'aa'.repeat(32), ['A', 'B', 'D']));
  assert.notEqual(x, thresholdSetChecksum(1, 'aa'.repeat(32), ['B', 'A', 'C']));
  assert.notEqual(x, thresholdSetChecksum(2, 'aa'.repeat(32), ['A', 'B', 'C']));
  assert.notEqual(x, thresholdSetChecksum(1, 'bb'.repeat(32), ['A', 'B', 'C']));
});

test('cooldown until the next round epoch', () => {
  assert.equal(canSign(NO_COOLDOWN, 5), true);
  const cd = afterSigning(NO_COOLDOWN, 5);
  assert.equal(canSign(cd, 5), false);
  assert.equal(canSign(cd, 6), true);
  assert.equal(seesSigningQuorum(['a', 'b', 'c'], 3), false);
  assert.equal(seesSigningQuorum(['a', 'b', 'c', 'c', 'd'], 3), true);
});

function cfgFor(h: Harness, self: string): RoundConfig {
  return {
    network: 'regtest', epoch: h.ks.key.epoch, roundId: ROUND_ID, self, key: h.ks.key, share: h.ks.shares[self]!, threshold: h.threshold,
    participants: h.participants(), tssProof: 'ab'.repeat(64), timeouts: DEFAULT_TIMEOUTS,
  };
}

test('a local fault aborts the round with its code instead of throwing; nothing is released', () => {
  const h = new Harness();
  const r = startSigningRound(cfgFor(h, 'peerA'), {
    buildCandidate: () => { throw new MetanodeError('INVALID_CONFIG', 'bad fee bounds'); },
    verifyTssProof: () => true,
  }, 1);
  assert.equal(r.state.outcome, 'aborted');
  assert.equal(r.state.abort!.code, 'INVALID_CONFIG');
  assert.deepEqual(r.outbox, []);
});

test('malformed peer messages are rejected with the sender named, never thrown', () => {
  const h = new Harness();
  const view = standardView(h.ks);
  const deps = { buildCandidate: () => buildCandidate(view, PARAMS), verifyTssProof: () => true };
  const r0 = startSigningRound(cfgFor(h, 'peerA'), deps, 1);
  const r1 = stepSigningRound(r0.state, deps, { kind: 'message', now: 2, from: 'peerB', type: MSG.proposal, payload: { h0: 'zz' } });
  assert.deepEqual(r1.state.culprits.map((c) => [c.peer, c.code]), [['peerB', 'INVALID_MESSAGE']]);
  assert.deepEqual(r1.outbox, [{ kind: 'block', peer: 'peerB', code: 'INVALID_MESSAGE', reason: `malformed ${MSG.proposal}` }]);
  // unknown sender: ignored, not blamed
  const r2 = stepSigningRound(r1.state, deps, { kind: 'message', now: 3, from: 'stranger', type: MSG.candidate, payload: { docHash: null, anchorHeight: 0, feeRate: 1, transferIds: [], refunds: [], sig: 'dd'.repeat(65) } });
  assert.deepEqual(r2.outbox, []);
  assert.equal(r2.log[0]!.reason, 'not-a-participant');
  // the original state is untouched (transitions are pure)
  assert.deepEqual(r0.state.culprits, []);
});

test('driver.envelope routes only this round\'s signing messages', () => {
  const h = new Harness().start();
  const d = h.drivers.get('peerA')!;
  const env = { version: 1, network: 'regtest', epoch: h.ks.key.epoch, round: ROUND_ID, type: MSG.checksum, from: 'peerB', payload: h.signAs('peerB', MSG.checksum, { checksum: 'aa'.repeat(32), excluded: [] }) };
  assert.equal(d.envelope({ ...env, round: ROUND_ID + 1 }), false);
  assert.equal(d.envelope({ ...env, epoch: 99 }), false);
  assert.equal(d.envelope({ ...env, network: 'mainnet' }), false);
  assert.equal(d.envelope({ ...env, type: 'ping' }), false);
  assert.equal(d.envelope(env), true);
  assert.equal(d.state.checksums.peerB!.checksum, 'aa'.repeat(32));
});
