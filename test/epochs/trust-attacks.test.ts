// The attacks of issue 13 on the epoch trust boundary, each played with real crypto and real
// identity keys on the in-memory ceremony harness, each refused, the honest federation
// unchanged (same record, same key, nobody flagged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, keygenAll, runAll, type HNode } from '../rounds/keygen/harness.js';
import { computeCommittee, computeRegroupCommittee } from '../../src/rounds/committee.js';
import { startKeygen } from '../../src/rounds/keygen/run.js';
import { KeygenTypes, type AttestMessage } from '../../src/rounds/keygen/messages.js';
import type { KeygenState } from '../../src/rounds/keygen/keygen.js';
import { importEpochs, serveEpochSync, epochSyncRequest, type EpochSyncEntry } from '../../src/epochs/sync.js';
import { recordHash } from '../../src/epochs/record.js';
import { equivocationEvidence, verifyViolation } from '../../src/epochs/evidence.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import { isMetanodeError } from '../../src/util/errors.js';

const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function federation(n = 4): Promise<Harness> {
  const h = await Harness.create(n);
  for (const o of (await keygenAll(h, 1)).values()) assert.ok(o.ok);
  return h;
}

/** What must not change on an honest node: its current record and key, and its evidence table. */
function state(n: HNode) {
  const cur = n.manager.current()!;
  return { epoch: cur.record.epoch, record: recordHash(cur.record), outputKey: cur.key.outputKey, hasShare: cur.hasShare, violations: n.manager.violations().length };
}

async function catchUp(node: HNode, from: HNode): Promise<void> {
  const r = await importEpochs(node.manager, wire(serveEpochSync(from.manager, epochSyncRequest(node.manager))), { from: from.peerId });
  assert.deepEqual(r.rejected, []);
}

/** Runs a keygen among `members` only and returns the fully signed result, whether or not their own rules let them adopt it. */
async function keygenAmong(h: Harness, members: HNode[], round: number): Promise<EpochSyncEntry> {
  const committee = membersInOrder(members.map((m) => m.peerId));
  const threshold = Math.floor((2 * committee.length) / 3) + 1;
  const starts = members.map((node) => ({ node, ...startKeygen({ ports: node.ports, manager: node.manager, network: 'regtest', round, startedAt: round * 60_000, committee, threshold, tickMs: 0 }) }));
  await runAll(h, starts);
  const s = starts[0].driver.current as KeygenState;
  assert.equal(s.phase, 'done', 'the colluders completed their ceremony');
  return wire({ record: s.result!.record, signatures: s.result!.signatures, key: s.result!.key });
}

test('forged keygen epoch via sync refused: staked non-members who generate a key among themselves move nobody', async () => {
  const h = await federation();
  const honest = h.nodes.slice(0, 4);
  const before = honest.map(state);
  // Two staked peers with no committee seat learn epoch 1, then generate "epoch 2" on top of it.
  const [a, b] = [await h.addNode(), await h.addNode()];
  for (const x of [a, b]) await catchUp(x, honest[0]);
  const forged = await keygenAmong(h, [a, b], 2);
  assert.equal(forged.record.kind, 'keygen');
  assert.equal(forged.record.epoch, 2);
  assert.equal(forged.record.previousEpoch, 1);
  // Their own nodes apply the same rules: the colluders themselves did not adopt it.
  assert.equal(a.manager.current()!.record.epoch, 1);
  for (const n of honest) {
    const r = await importEpochs(n.manager, { epochs: [forged] }, { from: a.peerId });
    assert.deepEqual(r.imported, []);
    assert.deepEqual(r.rejected, [{ epoch: 2, reason: 'only 0 of the previous committee signed; its threshold is 3' }]);
  }
  assert.deepEqual(honest.map(state), before);

  // The same trick as a first epoch, offered to a node that holds no key yet: refused too.
  const [c, d] = [await h.addNode(), await h.addNode()];
  const first = await keygenAmong(h, [c, d], 3);
  assert.equal(first.record.previousEpoch, null);
  const newcomer = await h.addNode();
  const r = await importEpochs(newcomer.manager, { epochs: [first] }, { from: c.peerId });
  assert.equal(r.imported.length, 0);
  assert.match(r.rejected[0].reason, /^the first committee holds 0 of the 2 most senior staked peers known here; needs two thirds$/);
  // The honest epoch 1 still imports there.
  await catchUp(newcomer, honest[1]);
  assert.equal(newcomer.manager.current()!.record.epoch, 1);
  assert.equal(recordHash(newcomer.manager.current()!.record), before[0].record);
  // And the honest members refuse a foreign "epoch 1" below their sync cursor.
  const again = await importEpochs(honest[2].manager, { epochs: [first] }, { from: c.peerId });
  assert.match(again.rejected[0].reason, /at or below the sync cursor 1/);
  assert.deepEqual(honest.map(state), before);
});

test('forged keygen epoch after keygen_until refused on both paths, even with every key holder signing', async () => {
  const h = await federation();
  const before = h.nodes.map(state);
  h.rules = { keygenUntil: 2 * 60_000 }; // the next attempt (slot 3) starts after lock-in
  const starts = h.nodes.map((node) => {
    const { committee, threshold } = computeCommittee(h.staked(), { max: 15 });
    return { node, ...startKeygen({ ports: node.ports, manager: node.manager, network: 'regtest', round: 3, startedAt: 3 * 60_000, committee, threshold, tickMs: 0 }) };
  });
  const out = await runAll(h, starts);
  for (const o of out.values()) {
    assert.ok(!o.ok);
    assert.match(o.failure.message, /refused \(keygen-closed\)/);
  }
  assert.deepEqual(h.nodes.map(state), before, 'the ceremony path adopted nothing');
  const s = starts[0].driver.current as KeygenState;
  const late = wire({ record: s.result!.record, signatures: s.result!.signatures, key: s.result!.key });
  const newcomer = await h.addNode();
  await catchUp(newcomer, h.nodes[0]);
  const r = await importEpochs(newcomer.manager, { epochs: [late] }, { from: h.nodes[0].peerId });
  assert.equal(r.imported.length, 0);
  assert.match(r.rejected[0].reason, /after keygen_until/);
  assert.equal(newcomer.manager.current()!.record.epoch, 1);
});

test('stale record of a superseded attempt replayed through sync flags nobody and changes nothing', async () => {
  const h = await Harness.create(4);
  const { committee, threshold } = computeCommittee(h.staked(), { max: 15 });
  // Attempt A (slot 1): every member computes the key and signs its record, but every
  // attestation is lost in transit: nobody adopts.
  h.tamper = (d) => (d.type === KeygenTypes.attest ? null : d.payload);
  const startsA = h.nodes.map((node) => ({ node, ...startKeygen({ ports: node.ports, manager: node.manager, network: 'regtest', round: 1, startedAt: 60_000, committee, threshold, tickMs: 0 }) }));
  for (const o of (await runAll(h, startsA)).values()) assert.ok(!o.ok);
  h.tamper = (d) => d.payload;
  const pendingA = (startsA[0].driver.current as KeygenState).pending!;
  // What a staked eavesdropper collected from the gossip: every member's signature on record A.
  const sigsA = new Map<string, AttestMessage['attestation']>();
  for (const d of h.sent) if (d.type === KeygenTypes.attest) sigsA.set(d.from, (d.payload as AttestMessage).attestation);
  assert.equal(sigsA.size, 4);
  const stale: EpochSyncEntry = wire({ record: pendingA.record, signatures: [...sigsA.values()], key: pendingA.key });

  // Attempt B (slot 2), an honest retry under the same epoch number, succeeds.
  for (const o of (await keygenAll(h, 2)).values()) assert.ok(o.ok);
  const adopted = h.nodes[0].manager.current()!;
  assert.equal(adopted.record.epoch, stale.record.epoch, 'both attempts made epoch 1');
  assert.notEqual(adopted.record.attempt.id, stale.record.attempt.id, 'the attempts have their own identity');
  const before = h.nodes.map(state);

  // A staked peer replays the stale, fully signed record to every member.
  const attacker = await h.addNode();
  for (const n of h.nodes.slice(0, 4)) {
    const r = await importEpochs(n.manager, { epochs: [stale] }, { from: attacker.peerId });
    assert.deepEqual(r.imported, []);
    assert.deepEqual(r.rejected, [{ epoch: 1, reason: 'epoch 1 is at or below the sync cursor 1: not asked for, nothing taken from it' }]);
  }
  assert.deepEqual(h.nodes.slice(0, 4).map(state), before, 'same record, same key, nobody flagged');

  // Even handed to the evidence check directly, one member's signatures on two attempts prove nothing.
  const m = h.nodes[1].peerId;
  const v = await verifyViolation(
    equivocationEvidence(m, { record: stale.record, attestation: sigsA.get(m)! }, { record: adopted.record, attestation: adopted.signatures.find((s) => s.peerId === m)! }),
  );
  assert.deepEqual(v, { ok: false, reason: 'records are of different attempts (an honest retry): no equivocation' });

  // The next regroup committee is the whole honest federation with t = 3, not the attacker alone.
  const peers = h.staked().map((p) => ({ ...p, lastSeenMs: h.clock }));
  const plan = computeRegroupCommittee({ peers, oldCommittee: adopted.record.committee, now: h.clock, offlineAfterMs: 60_000, violations: h.nodes[0].manager.violations(), cfg: { max: 4 } });
  assert.deepEqual(plan.committee.map((c) => c.peerId), adopted.record.committee.map((c) => c.peerId));
  assert.equal(plan.threshold, 3);
  assert.deepEqual(plan.pruned, []);
});

test('equivocation within one attempt is still evidence: two different records of the same attempt signed by one member', async () => {
  const h = await federation();
  const rec = h.nodes[0].manager.current()!;
  const m = h.nodes[2];
  const other = { ...rec.record, transcriptHash: '77'.repeat(32) };
  const { signRecord } = await import('../../src/epochs/attest.js');
  const att = await signRecord(other, m.peerId, m.ports.sign);
  const v = await verifyViolation(equivocationEvidence(m.peerId, { record: rec.record, attestation: rec.signatures.find((s) => s.peerId === m.peerId)! }, { record: other, attestation: att }));
  assert.equal(v.ok, true);
  // A record signed by an outsider is no evidence against a member.
  const n = await h.addNode();
  const forged = await signRecord(other, n.peerId, n.ports.sign);
  const w = await verifyViolation(equivocationEvidence(m.peerId, { record: rec.record, attestation: rec.signatures.find((s) => s.peerId === m.peerId)! }, { record: other, attestation: forged }));
  assert.equal(w.ok, false);
  await assert.rejects(
    h.nodes[0].manager.adopt({ record: other, signatures: [att], key: rec.key, share: null, retire: [] }),
    (e) => isMetanodeError(e, 'SHARE_INCONSISTENCY'),
    'a stored epoch is never replaced',
  );
});
