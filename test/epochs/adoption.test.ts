// checkAdoption, one test per trust rule: the rule refuses what breaks it, and only that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { checkAdoption, MAINNET_MIN_COMMITTEE, type AdoptionInput, type AdoptionRules } from '../../src/epochs/adoption.js';
import { regroupTestMessage, type EpochRecord } from '../../src/epochs/record.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import { stakedInOrder, TEST_ATTEMPT } from '../support/epoch-policy.js';

const PEERS = ['pA', 'pB', 'pC', 'pD', 'pE', 'pF'];
const STAKED = stakedInOrder(PEERS);
const RULES: AdoptionRules = { network: 'regtest', committeeMax: 15, keygenUntil: null };
const SECRET = hexToBytes('11'.repeat(32));
const KEY = bytesToHex(schnorr.getPublicKey(SECRET));

function record(over: Partial<EpochRecord> & { members?: string[] } = {}): EpochRecord {
  const { members = PEERS.slice(0, 4), ...rest } = over;
  const committee = membersInOrder(members);
  return {
    version: 1, kind: 'keygen', network: 'regtest', epoch: 1, attempt: TEST_ATTEMPT, previousEpoch: null, outputKey: KEY, internalKey: '22'.repeat(32),
    vaultAddress: 'bcrt1p' + 'a'.repeat(58), committee, threshold: Math.floor((2 * committee.length) / 3) + 1, transcriptHash: '33'.repeat(32), keyHash: '44'.repeat(32), testSignature: null,
    ...rest,
  };
}
const EPOCH1 = record();

function regroup(over: Partial<EpochRecord> & { members?: string[] } = {}): EpochRecord {
  const r = record({ kind: 'regroup', epoch: 2, previousEpoch: 1, ...over });
  const sig = bytesToHex(schnorr.sign(hexToBytes(regroupTestMessage(r.network, r.epoch, r.outputKey)), SECRET));
  return { ...r, testSignature: over.testSignature === undefined ? sig : over.testSignature };
}

function input(r: EpochRecord, over: Partial<AdoptionInput> = {}): AdoptionInput {
  const later = r.previousEpoch !== null;
  return {
    record: r,
    signers: r.committee.map((m) => m.peerId),
    previous: later ? EPOCH1 : null,
    current: later ? EPOCH1 : null,
    staked: STAKED,
    rules: RULES,
    ...over,
  };
}
const refusedBy = (i: AdoptionInput) => {
  const v = checkAdoption(i);
  return v.ok ? 'adopted' : v.rule;
};

test('an honest first keygen, later keygen and regroup are adopted', () => {
  assert.equal(refusedBy(input(EPOCH1)), 'adopted');
  assert.equal(refusedBy(input(record({ epoch: 2, previousEpoch: 1, outputKey: '55'.repeat(32) }))), 'adopted');
  assert.equal(refusedBy(input(regroup())), 'adopted');
  // A regroup that admits a newcomer and drops a member, consent given by the old holders (dealers).
  const moved = regroup({ members: ['pA', 'pB', 'pC', 'pE'] });
  assert.equal(refusedBy(input(moved, { signers: ['pA', 'pB', 'pC', 'pE', 'pD'] })), 'adopted');
});

test('rule network: a record for another network is refused', () => {
  assert.equal(refusedBy(input(record({ network: 'testnet' }))), 'network');
});

test('rule threshold: t >= 2 and exactly the threshold the committee size gives', () => {
  assert.equal(refusedBy(input(record({ members: ['pA', 'pB'], threshold: 1 }))), 'threshold');
  assert.equal(refusedBy(input(record({ threshold: 2 }))), 'threshold', '4 members need 3');
  assert.equal(refusedBy(input(record({ threshold: 4 }))), 'threshold');
  assert.equal(refusedBy(input(record({ threshold: 2 }), { rules: { ...RULES, threshold: 2 } })), 'adopted', 'a configured fixed threshold');
});

test('rule committee-size: committee.max on every network, the mainnet minimum on import too', () => {
  assert.equal(refusedBy(input(EPOCH1, { rules: { ...RULES, committeeMax: 3 } })), 'committee-size');
  const three = record({ network: 'mainnet', members: ['pA', 'pB', 'pC'] });
  assert.ok(three.committee.length < MAINNET_MIN_COMMITTEE);
  assert.equal(refusedBy(input(three, { rules: { ...RULES, network: 'mainnet' } })), 'committee-size');
  assert.equal(refusedBy(input(record({ network: 'mainnet' }), { rules: { ...RULES, network: 'mainnet' } })), 'adopted');
});

test('rule signatures: every member, no outsider, no invalid signature', () => {
  assert.equal(refusedBy(input(EPOCH1, { signers: ['pA', 'pB', 'pC'] })), 'signatures');
  assert.equal(refusedBy(input(EPOCH1, { signers: [...PEERS.slice(0, 4), 'pF'] })), 'signatures');
  assert.equal(refusedBy(input(EPOCH1, { invalidSigners: ['pB'] })), 'signatures');
});

test('rule committee-stake: a later epoch\'s member whose stake this node does not know is "not yet eligible" (retry, no blame)', () => {
  const v = checkAdoption(input(regroup(), { staked: stakedInOrder(['pA', 'pB', 'pC']) }));
  assert.deepEqual(v.ok ? null : [v.rule, v.retry], ['committee-stake', true]);
});

test('first epoch imported by a node that joined later: a member it never saw (gone offline) does not block it; padding with unknown identities does not pass', () => {
  // pD went offline before this node joined: pA..pC are three of the four oldest stakes known here.
  assert.equal(refusedBy(input(EPOCH1, { staked: stakedInOrder(['pA', 'pB', 'pC', 'pF']) })), 'adopted');
  // One known senior plus three identities nobody here knows: one of the top four, refused.
  const padded = record({ members: ['pA', 'pX', 'pY', 'pZ'] });
  assert.equal(refusedBy(input(padded, { signers: ['pA', 'pX', 'pY', 'pZ'], staked: stakedInOrder(['pA', 'pB', 'pC', 'pD']) })), 'first-epoch');
});

test('rule committee-order: members must be listed in seniority order', () => {
  assert.equal(refusedBy(input(record({ members: ['pB', 'pA', 'pC', 'pD'] }))), 'committee-order');
});

test('rule first-epoch: its n members must hold two thirds of the n most senior staked peers known here', () => {
  const staked = stakedInOrder(['pA', 'pB', 'pC', 'pD', 'pE', 'pF', 'pG', 'pH']);
  const v = checkAdoption(input(record({ members: ['pE', 'pF', 'pG', 'pH'] }), { staked }));
  assert.deepEqual(v.ok ? null : [v.rule, v.retry], ['first-epoch', true]);
  assert.equal(refusedBy(input(record({ members: ['pC', 'pD', 'pE', 'pF'] }), { staked })), 'first-epoch', '2 of the top 4');
  assert.equal(refusedBy(input(record({ members: ['pB', 'pC', 'pD', 'pE'] }), { staked })), 'adopted', '3 of the top 4');
  // Peers staked after the first keygen are junior: they do not dilute the count.
  assert.equal(refusedBy(input(record({ members: ['pA', 'pB', 'pC', 'pD'] }), { staked })), 'adopted');
});

test('rule chain: epoch 1 only without a key here; later epochs follow the epoch in force by one', () => {
  assert.equal(refusedBy(input(EPOCH1, { current: EPOCH1 })), 'chain');
  assert.equal(refusedBy(input(record({ epoch: 2 }))), 'chain', 'no previous epoch but not epoch 1');
  assert.equal(refusedBy(input(record({ epoch: 3, previousEpoch: 1 }))), 'chain', 'skips a number');
  assert.equal(refusedBy(input(regroup(), { previous: null })), 'chain');
  const v = checkAdoption(input(regroup(), { previous: null }));
  assert.equal(!v.ok && v.retry, true, 'an unknown previous epoch may arrive later');
  const e2 = record({ epoch: 2, previousEpoch: 1, outputKey: '55'.repeat(32) });
  assert.equal(refusedBy(input(record({ epoch: 3, previousEpoch: 1 }), { current: e2 })), 'chain', 'previous is not the epoch in force');
});

test('rule consent: a later epoch needs t_old signatures of the previous committee', () => {
  // The new committee shares only pA and pB with the old one (t_old = 3): two consenting holders.
  const takeover = record({ epoch: 2, previousEpoch: 1, outputKey: '55'.repeat(32), members: ['pA', 'pB', 'pE', 'pF'] });
  assert.equal(refusedBy(input(takeover)), 'consent');
  assert.equal(refusedBy(input(takeover, { signers: ['pA', 'pB', 'pE', 'pF', 'pC'] })), 'adopted', 'a third old holder consents');
  const rg = regroup({ members: ['pA', 'pB', 'pE', 'pF'] });
  assert.equal(refusedBy(input(rg)), 'consent');
});

test('rule keygen-closed: no keygen from an attempt that started at or after keygen_until', () => {
  const rules = { ...RULES, keygenUntil: 1_000_000 };
  assert.equal(refusedBy(input(record({ attempt: { ...TEST_ATTEMPT, startedAt: 1_000_000 } }), { rules })), 'keygen-closed');
  assert.equal(refusedBy(input(record({ epoch: 2, previousEpoch: 1, outputKey: '55'.repeat(32), attempt: { ...TEST_ATTEMPT, startedAt: 2_000_000 } }), { rules })), 'keygen-closed');
  assert.equal(refusedBy(input(record({ attempt: { ...TEST_ATTEMPT, startedAt: 999_999 } }), { rules })), 'adopted');
  assert.equal(refusedBy(input(regroup({ attempt: { ...TEST_ATTEMPT, startedAt: 2_000_000 } }), { rules })), 'adopted', 'regroups go on after lock-in');
});

test('rule regroup-key and regroup-test-signature: same key, and a test signature under it', () => {
  assert.equal(refusedBy(input(regroup({ vaultAddress: 'bcrt1p' + 'b'.repeat(58) }))), 'regroup-key');
  assert.equal(refusedBy(input(regroup({ testSignature: null }))), 'regroup-test-signature');
  const other = bytesToHex(schnorr.sign(hexToBytes(regroupTestMessage('regtest', 3, KEY)), SECRET));
  assert.equal(refusedBy(input(regroup({ testSignature: other }))), 'regroup-test-signature', 'signed for another epoch');
});
