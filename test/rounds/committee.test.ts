import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeCommittee, computeRegroupCommittee, selectDealers, committeeThreshold, type PeerView } from '../../src/rounds/committee.js';
import { identifierAt } from '../../src/crypto/identifiers.js';
import { isMetanodeError } from '../../src/util/errors.js';

const tx = (n: number) => n.toString(16).padStart(64, '0');
const peers: PeerView[] = [
  { peerId: 'peerE', stakeHeight: 105, stakeTxid: tx(5), lastSeenMs: 1000 },
  { peerId: 'peerB', stakeHeight: 101, stakeTxid: tx(9), lastSeenMs: 1000 },
  { peerId: 'peerA', stakeHeight: 101, stakeTxid: tx(2), lastSeenMs: 1000 },
  { peerId: 'peerC', stakeHeight: 103, stakeTxid: tx(3), lastSeenMs: 1000 },
  { peerId: 'peerD', stakeHeight: 104, stakeTxid: tx(4), lastSeenMs: 1000 },
];

test('keygen committee: top max by seniority (height asc, ties by txid), default threshold floor(2n/3)+1', () => {
  const { committee, threshold } = computeCommittee(peers, { max: 4 });
  assert.deepEqual(committee.map((m) => m.peerId), ['peerA', 'peerB', 'peerC', 'peerD']);
  assert.deepEqual(committee.map((m) => m.identifier), [0, 1, 2, 3].map(identifierAt));
  assert.equal(committee[3].identifier, '00'.repeat(31) + '04');
  assert.equal(threshold, 3);
  assert.equal(computeCommittee(peers, { max: 15 }).threshold, 4);
  assert.equal(committeeThreshold(7), 5);
  assert.throws(() => committeeThreshold(4, 5), (e) => isMetanodeError(e, 'INVALID_CONFIG'));
  // Same input in another order: same committee.
  assert.deepEqual(computeCommittee([...peers].reverse(), { max: 4 }), computeCommittee(peers, { max: 4 }));
});

test('regroup committee ignores a local blocklist: two nodes differing only in blocklist agree', () => {
  const old = computeCommittee(peers, { max: 5 }).committee;
  const viewA = peers;
  const viewB = peers.map((p) => (p.peerId === 'peerC' ? { ...p, blocklistedUntilMs: 10_000_000 } : p));
  const a = computeRegroupCommittee({ peers: viewA, oldCommittee: old, now: 2000, offlineAfterMs: 60_000, violations: [], cfg: { max: 5 } });
  const b = computeRegroupCommittee({ peers: viewB, oldCommittee: old, now: 2000, offlineAfterMs: 60_000, violations: [], cfg: { max: 5 } });
  assert.deepEqual(b, a);
  assert.ok(b.committee.some((m) => m.peerId === 'peerC'));
});

test('regroup committee prunes offline peers, admits new staked peers, caps by seniority', () => {
  const old = computeCommittee(peers.slice(0, 4), { max: 4 }).committee; // A, B, C, E
  const now = 1_000_000;
  const table: PeerView[] = peers.map((p) => ({ ...p, lastSeenMs: p.peerId === 'peerB' ? now - 120_000 : now - 1000 }));
  const r = computeRegroupCommittee({ peers: table, oldCommittee: old, now, offlineAfterMs: 60_000, violations: [], cfg: { max: 3 } });
  assert.deepEqual(r.committee.map((m) => m.peerId), ['peerA', 'peerC', 'peerD']);
  assert.deepEqual(r.pruned, [{ peerId: 'peerB', reason: 'offline' }, { peerId: 'peerE', reason: 'cap' }]);
  assert.deepEqual(r.admitted, ['peerD']);
  assert.equal(r.threshold, 3);
});

test('dealers: the first t available old holders; too few available refuses', () => {
  const old = computeCommittee(peers, { max: 5 }).committee;
  assert.deepEqual(selectDealers(old, 3, (p) => p !== 'peerA').map((m) => m.peerId), ['peerB', 'peerC', 'peerD']);
  assert.throws(() => selectDealers(old, 4, (p) => p === 'peerA' || p === 'peerB'), (e) => isMetanodeError(e, 'ABORTED'));
});
