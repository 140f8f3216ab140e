// Keygen epochs over the network (DESIGN §4), on real nodes over loopback: what every node
// adopts, who is named when a member cheats, what a restart mid-ceremony leaves, and that clients
// can verify the epoch record across nodes (/v1/epochs + verify-epoch). Regroups: epochs-regroup.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, epochOf, type Federation, type TestNode } from './harness.js';
import { verifyEpochCommand } from '../../src/cli/commands/verify-epoch.js';
import { federation as startFed, sameEpoch, record, expectNamed, assertConsistentShare, restartAt, quiet } from './epochs-helpers.js';

const feds: Federation[] = [];
after(async () => {
  await Promise.allSettled(feds.map((f) => f.stop()));
});
const federation = (opts: Parameters<typeof startFed>[1]) => startFed(feds, opts);

test('keygen: 5 nodes adopt one key, a second keygen replaces it, none after keygen_until; verify-epoch agrees', { timeout: 240_000 }, async () => {
  const t0 = Date.now();
  const fed = await federation({ n: 5, keygen: '*/6 * * * * *', keygenUntilMs: 60_000, committeeMax: 5 });
  const nodes = fed.nodes;
  const until = fed.keygenUntil.getTime();

  const e1 = await sameEpoch(nodes, until - Date.now(), 'first keygen adopted by all 5', (e) => record(nodes[0]!, e.epoch).record.committee.length === 5);
  const r1 = record(nodes[0]!, e1.epoch).record;
  assert.equal(r1.kind, 'keygen');
  assert.deepEqual(new Set(r1.committee.map((c) => c.peerId)), new Set(nodes.map((n) => n.peerId)));
  for (const n of nodes) {
    const r = record(n, e1.epoch);
    assert.equal(r.record.outputKey, r1.outputKey, `${n.name} has another key`);
    assert.equal(r.hasShare, true);
  }
  console.log(`first keygen: epoch ${e1.epoch} at ${Date.now() - t0} ms`);

  const e2 = await sameEpoch(nodes, Math.max(1, until - Date.now()), 'second keygen adopted by all 5 before keygen_until', (e) => e.epoch > e1.epoch);
  const r2 = record(nodes[0]!, e2.epoch).record;
  assert.equal(r2.committee.length, 5);
  assert.notEqual(r2.outputKey, r1.outputKey, 'the second keygen made a new key');
  assert.notEqual(e2.vault, e1.vault, 'the second keygen made a new vault');
  for (const n of nodes) assert.equal(record(n, e2.epoch).record.outputKey, r2.outputKey);
  console.log(`second keygen: epoch ${e2.epoch} at ${Date.now() - t0} ms`);

  // keygen_until passes; what is current a moment later is locked in, and the next two keygen
  // slots (6 s apart) change nothing.
  await waitFor(() => Date.now() > until + 3_000, 60_000, 'keygen_until');
  // A keygen whose slot began before keygen_until still completes after it; from the moment
  // every node is locked in and none is in a keygen, nothing may change.
  await waitFor(() => nodes.every((n) => n.running!.ctx.manager.isLocked() && n.running!.ctx.activity.state !== 'keygen'), 40_000, 'every node locked in, no keygen running');
  const locked = await sameEpoch(nodes, 15_000, 'one key on all nodes after keygen_until');
  const lockedAt = Date.now();
  await waitFor(() => Date.now() > lockedAt + 13_000, 20_000, 'two more keygen slots');
  for (const n of nodes) {
    const e = await epochOf(n);
    assert.equal(e?.epoch, locked.epoch, `${n.name} moved past epoch ${locked.epoch} after keygen_until`);
    assert.equal(e?.vault, locked.vault);
    assert.equal(n.running!.ctx.manager.store.maxEpoch(), locked.epoch, `${n.name} stored an epoch after keygen_until`);
    assert.equal(n.running!.ctx.manager.isLocked(), true, `${n.name} did not lock the key in`);
    assert.deepEqual(await assertConsistentShare(n), { epoch: locked.epoch, hasShare: true });
  }
  const rL = record(nodes[0]!, locked.epoch).record;

  // /v1/epochs on every node + verify-epoch: same record, signed by the whole committee.
  const v = await verifyEpochCommand({ from: nodes.map((n) => n.running!.apiUrl) });
  assert.equal(v.agreed, true, JSON.stringify(v.sources));
  assert.equal(v.epoch, locked.epoch);
  assert.equal(v.answered, 5);
  assert.equal(v.vaultAddress, locked.vault);
  assert.equal(v.outputKey, rL.outputKey);
  assert.equal(v.committeeSize, 5);
  for (const s of v.sources) {
    assert.equal(s.ok, true);
    assert.equal(s.validSigners, 5);
    assert.deepEqual([s.missingSigners, s.invalidSigners, s.outsiders, s.differs, s.problems], [[], [], [], [], []]);
  }
  // The replaced first key is still served and verifiable as epoch e1.
  const v1 = await verifyEpochCommand({ from: nodes.map((n) => n.running!.apiUrl), epoch: e1.epoch });
  assert.equal(v1.agreed, true);
  assert.equal(v1.outputKey, r1.outputKey);
  console.log(`keygen scenario: ${Date.now() - t0} ms`);
});

test('keygen: a bad share or a bad proof of knowledge names its sender and adopts nothing; a restart mid-ceremony leaves old or new key', { timeout: 600_000 }, async () => {
  const t0 = Date.now();
  const fed = await federation({ n: 5, keygen: '*/6 * * * * *', keygenUntilMs: 10 * 60_000, committeeMax: 5 });
  const [n1, n2, n3, n4, n5] = fed.nodes as [TestNode, TestNode, TestNode, TestNode, TestNode];
  const flip = (hex: string) => (hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0'));

  // n5 sends every recipient a round-2 share that does not match its commitment.
  const current = async () => JSON.stringify(await Promise.all(fed.nodes.map(epochOf)));
  await quiet(fed);
  const before = await current();
  let since = Date.now();
  n5.faults.outgoing = (type, payload) => (type === 'keygen.round2' ? { ...(payload as object), signingShare: flip((payload as { signingShare: string }).signingShare) } : payload);
  const badShare = await expectNamed(fed, 'keygen', n5, since);
  assert.equal(await current(), before, 'the bad-share keygen changed a node\'s key');
  console.log(`bad share named: epoch ${badShare}, ${Date.now() - t0} ms`);

  // n4 broadcasts a round-1 package whose proof of knowledge does not verify.
  n5.faults.outgoing = undefined;
  since = Date.now();
  n4.faults.outgoing = (type, payload) => (type === 'keygen.round1' ? { ...(payload as object), proofOfKnowledge: flip((payload as { proofOfKnowledge: string }).proofOfKnowledge) } : payload);
  const badProof = await expectNamed(fed, 'keygen', n4, since);
  assert.ok(badProof > 0);
  assert.equal(await current(), before, 'the bad-proof keygen changed a node\'s key');
  n4.faults.outgoing = undefined;
  console.log(`bad proof named: epoch ${badProof}, ${Date.now() - t0} ms`);

  // n3 goes down just as it would send its attestation, then comes back.
  await restartAt(n3, 'keygen.attest');
  const after3 = await assertConsistentShare(n3);
  console.log(`n3 after restart: ${JSON.stringify(after3)}, ${Date.now() - t0} ms`);
  if (after3) {
    // n3 may have collected every attestation and adopted while the others missed its own; then
    // they learn the record by epoch sync and attach the share they computed for it: the whole
    // committee holds shares of the epoch, nobody is left with a record and no share.
    await waitFor(() => fed.nodes.every((n) => n.running!.ctx.manager.store.get(after3.epoch)), 20_000, `every node has epoch ${after3.epoch}`);
    for (const n of fed.nodes) assert.equal(record(n, after3.epoch).hasShare, true, `${n.name} holds epoch ${after3.epoch} without a share`);
  }

  // With everyone honest again the next keygen succeeds for all five, n3 included.
  const e = await sameEpoch(fed.nodes, 120_000, 'a clean keygen adopted by all 5', (x) => (after3 === null || x.epoch > after3.epoch) && record(n1, x.epoch).record.committee.length === 5);
  assert.equal(record(n1, e.epoch).record.committee.length, 5);
  for (const n of [n1, n2, n3, n4, n5]) assert.deepEqual(await assertConsistentShare(n), { epoch: e.epoch, hasShare: true });
  console.log(`fault scenario: ${Date.now() - t0} ms`);
});
