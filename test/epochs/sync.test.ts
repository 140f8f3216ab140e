import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, keygenAll, runAll, signWith, type HNode } from '../rounds/keygen/harness.js';
import { computeCommittee } from '../../src/rounds/committee.js';
import { startKeygen } from '../../src/rounds/keygen/run.js';
import { KeygenTypes } from '../../src/rounds/keygen/messages.js';
import type { KeygenState } from '../../src/rounds/keygen/keygen.js';
import { serveEpochSync, importEpochs, epochSyncRequest, checkEpochKey, EPOCH_SYNC_MAX_EPOCHS, type EpochSyncEntry, type EpochSyncResponse } from '../../src/epochs/sync.js';
import { signRecord } from '../../src/epochs/attest.js';
import { epochKeyHash, type EpochRecord } from '../../src/epochs/record.js';
import { openDb } from '../../src/store/db.js';
import { epochMigrations } from '../../src/epochs/store.js';
import { EpochManager } from '../../src/epochs/manager.js';
import { InMemoryShareVault } from '../../src/epochs/vault.js';
import { identifierAt, membersInOrder } from '../../src/crypto/identifiers.js';
import { verifyBip340 } from '../../src/crypto/signing.js';
import type { EpochKey } from '../../src/crypto/types.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { testPolicy, TEST_ATTEMPT } from '../support/epoch-policy.js';

const MSG = 'ab'.repeat(32);
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Keygen on 4 nodes where node 3 never receives the other members' attestations. */
async function setup(): Promise<{ h: Harness; lagging: HNode; lostShare: KeygenState['pending'] }> {
  const h = await Harness.create(4);
  const lagging = h.nodes[3];
  h.tamper = (d) => (d.to === lagging.peerId && d.type === KeygenTypes.attest ? null : d.payload);
  const { committee, threshold } = computeCommittee(h.staked(), { max: 15 });
  const starts = h.nodes.map((node) => ({ node, ...startKeygen({ ports: node.ports, manager: node.manager, network: 'regtest', round: 1, startedAt: 1 * 60_000, committee, threshold, tickMs: 0 }) }));
  const out = await runAll(h, starts);
  h.tamper = (d) => d.payload;
  for (const n of h.nodes.slice(0, 3)) assert.ok(out.get(n.peerId)!.ok);
  assert.equal(out.get(lagging.peerId)!.ok, false, 'the member that missed the attestations did not adopt');
  assert.equal(lagging.manager.current(), null);
  return { h, lagging, lostShare: (starts[3].driver.current as KeygenState).pending };
}

/** Every committee member (harness node) signs `record` with its identity key. */
async function resign(h: Harness, record: EpochRecord) {
  return Promise.all(record.committee.map((m) => signRecord(record, m.peerId, h.node(m.peerId).ports.sign)));
}

const fresh = (h: Harness) => h.addNode();

test('a member that missed the attestations keeps its result; importing the fully signed record from a peer attaches its share', async () => {
  const { h, lagging, lostShare } = await setup();
  assert.ok(lostShare);
  const peer = h.nodes[0];
  const reply = wire(serveEpochSync(peer.manager, epochSyncRequest(lagging.manager)));
  assert.deepEqual(reply.epochs.map((e) => e.record.epoch), [1]);
  const r = await importEpochs(lagging.manager, reply, { from: peer.peerId, network: 'regtest' });
  assert.deepEqual(r.imported, [1]);
  assert.deepEqual(r.rejected, []);
  const ks = await lagging.manager.currentKeyAndShare();
  assert.ok(ks);
  assert.deepEqual(ks.record, peer.manager.current()!.record);
  assert.equal(lagging.manager.current()!.hasShare, true);
  assert.equal(ks.share!.signingShare, lostShare.share.signingShare);
  const sig = await signWith([lagging, h.nodes[0], h.nodes[1]], MSG);
  assert.ok(verifyBip340(sig, MSG, ks.record.outputKey));
});

test('after a restart (held result forgotten) the imported epoch is current with share null; a late own result attaches the share', async () => {
  const { h, lagging, lostShare } = await setup();
  // A restart: a new manager over the same database and vault; the held result was in memory only.
  lagging.manager = new EpochManager(lagging.db, lagging.vault, lagging.peerId, { policy: testPolicy(() => h.staked()), now: () => h.clock });
  await lagging.manager.reconcile();
  const peer = h.nodes[0];
  const reply = wire(serveEpochSync(peer.manager, epochSyncRequest(lagging.manager)));
  const r = await importEpochs(lagging.manager, reply, { from: peer.peerId, network: 'regtest' });
  assert.deepEqual(r.imported, [1]);
  assert.deepEqual(r.rejected, []);
  const ks = await lagging.manager.currentKeyAndShare();
  assert.ok(ks);
  assert.equal(ks.share, null);
  assert.deepEqual(ks.record, peer.manager.current()!.record);
  assert.deepEqual(ks.key, peer.manager.current()!.key);
  assert.equal(lagging.manager.current()!.hasShare, false);
  // Asking again changes nothing.
  const again = await importEpochs(lagging.manager, wire(serveEpochSync(peer.manager, { afterEpoch: 0 })), { from: peer.peerId });
  assert.deepEqual([again.imported, again.known, again.rejected], [[], [1], []]);

  // The node's own ceremony result for the same record arrives after the sync: it attaches the share.
  assert.ok(lostShare);
  await lagging.manager.adopt({ record: lostShare.record, signatures: peer.manager.current()!.signatures, key: lostShare.key, share: lostShare.share, retire: [] });
  assert.equal((await lagging.manager.currentKeyAndShare())!.share!.signingShare, lostShare.share.signingShare);
  const sig = await signWith([lagging, h.nodes[0], h.nodes[1]], MSG);
  assert.ok(verifyBip340(sig, MSG, ks.record.outputKey));
});

test('forged signature, missing committee signature, key not matching the record: each rejected with its reason', async () => {
  const { h } = await setup();
  const good = wire(serveEpochSync(h.nodes[0].manager, { afterEpoch: 0 })).epochs[0];
  const [m0, m1, m2] = good.record.committee.map((m) => m.peerId);
  const node = await fresh(h);
  const offer = async (e: EpochSyncEntry) => {
    const r = await importEpochs(node.manager, { epochs: [e] } satisfies EpochSyncResponse, { from: 'peerX', network: 'regtest' });
    assert.deepEqual(r.imported, []);
    assert.equal(r.rejected.length, 1);
    assert.equal(r.rejected[0].epoch, 1);
    return r.rejected[0].reason;
  };

  const forged = { ...good, signatures: good.signatures.map((s) => (s.peerId === m1 ? { ...s, signature: good.signatures.find((x) => x.peerId === m0)!.signature } : s)) };
  assert.equal(await offer(forged), `invalid signature from ${m1}`);

  const missing = { ...good, signatures: good.signatures.filter((s) => s.peerId !== m2) };
  assert.equal(await offer(missing), `missing signature of committee member ${m2}`);

  // Key swapped under a record that commits to another key: keyHash catches it.
  const ids = Object.keys(good.key.verifyingShares);
  const swapped: EpochKey = { ...good.key, verifyingShares: { ...good.key.verifyingShares, [ids[0]]: good.key.verifyingShares[ids[1]], [ids[1]]: good.key.verifyingShares[ids[0]] } };
  assert.equal(await offer({ ...good, key: swapped }), 'key hash does not match the record keyHash');

  // Even a record every member signed is refused when its key is not a consistent sharing.
  const record = { ...good.record, keyHash: epochKeyHash(swapped) };
  assert.equal(await offer({ record, signatures: await resign(h, record), key: swapped }), 'verifying shares do not lie on the key commitments');
  // ...or when its vault address does not recompute from the key.
  const wrongVault = { ...good.record, vaultAddress: 'bcrt1p' + 'q'.repeat(58) };
  assert.equal(await offer({ record: wrongVault, signatures: await resign(h, wrongVault), key: good.key }), 'vault address does not recompute from the key');
  // ...or when an identifier is not its committee position.
  const badIds = { ...good.record, committee: good.record.committee.map((m, i) => (i === 0 ? { ...m, identifier: identifierAt(good.record.committee.length) } : m)) };
  assert.match(checkEpochKey(badIds, { ...good.key, committee: badIds.committee })!, /^identifier of .* is not its committee position 1$/);

  assert.equal(node.manager.current(), null, 'nothing was stored');
  // The untouched reply imports.
  const ok = await importEpochs(node.manager, { epochs: [good] }, { from: 'peerX' });
  assert.deepEqual(ok.imported, [1]);
});

test('a record conflicting with a stored one is refused at the sync cursor: not replaced, nobody flagged; the adopted share stays', async () => {
  const { h } = await setup();
  const holder = h.nodes[1];
  const before = holder.manager.current()!;
  const good = wire(serveEpochSync(h.nodes[0].manager, { afterEpoch: 0 })).epochs[0];
  const other = { ...good.record, transcriptHash: '77'.repeat(32) };
  const r = await importEpochs(holder.manager, { epochs: [{ record: other, signatures: await resign(h, other), key: good.key }] }, { from: 'peerX' });
  assert.deepEqual(r.imported, []);
  assert.deepEqual(r.rejected, [{ epoch: 1, reason: 'epoch 1 is at or below the sync cursor 1: not asked for, nothing taken from it' }]);
  assert.deepEqual(holder.manager.violations(), []);
  assert.deepEqual(holder.manager.current()!.record, before.record);
  assert.ok((await holder.manager.currentKeyAndShare())!.share, 'share still attached');
});

test('epochs chain by previousEpoch: an epoch whose predecessor is unknown is refused; with it, the highest becomes current', async () => {
  const { h, lagging } = await setup();
  await importEpochs(lagging.manager, wire(serveEpochSync(h.nodes[0].manager, { afterEpoch: 0 })), { from: h.nodes[0].peerId });
  // A second keygen (new key, previousEpoch 1) on all four members.
  for (const o of (await keygenAll(h, 2)).values()) assert.ok(o.ok);
  const [e1, e2] = wire(serveEpochSync(h.nodes[0].manager, { afterEpoch: 0 })).epochs;
  assert.equal(e2.record.previousEpoch, 1);
  const node = await fresh(h);
  const alone = await importEpochs(node.manager, { epochs: [e2] }, { from: 'peerX' });
  assert.deepEqual(alone.rejected, [{ epoch: 2, reason: 'previous epoch 1 is not known here' }]);
  const both = await importEpochs(node.manager, { epochs: [e1, e2] }, { from: 'peerX' });
  assert.deepEqual(both.imported, [1, 2]);
  assert.deepEqual(both.retired, [], 'a keygen epoch keeps its predecessor (funds may sit at the old address)');
  const ks = await node.manager.currentKeyAndShare();
  assert.equal(ks!.record.epoch, 2);
  assert.equal(ks!.share, null);
  // The same epoch 2 dressed up as a regroup of epoch 1, signed by every member: the key changed.
  const n3 = await fresh(h);
  await importEpochs(n3.manager, { epochs: [e1] }, { from: 'peerX' });
  const fake: EpochRecord = { ...e2.record, kind: 'regroup' };
  const r = await importEpochs(n3.manager, { epochs: [{ record: fake, signatures: await resign(h, fake), key: e2.key }] }, { from: 'peerX' });
  assert.deepEqual(r.rejected, [{ epoch: 2, reason: 'regroup changes the key of epoch 1' }]);
  assert.equal(n3.manager.current()!.record.epoch, 1);
  // Wrong network and signatures from outside the committee.
  const n2 = await fresh(h);
  const wrongNet = await importEpochs(n2.manager, { epochs: [e1] }, { from: 'peerX', network: 'mainnet' });
  assert.deepEqual(wrongNet.rejected, [{ epoch: 1, reason: 'record is for network regtest, not mainnet' }]);
  const outsider = await signRecord(e1.record, n2.peerId, n2.ports.sign);
  const extra = await importEpochs(n2.manager, { epochs: [{ ...e1, signatures: [...e1.signatures, outsider] }] }, { from: 'peerX' });
  assert.deepEqual(extra.rejected, [{ epoch: 1, reason: `signature from outside the committee: ${n2.peerId}` }]);
});

test('serveEpochSync: ascending, after the cursor, at most 16 per reply; bad request and malformed reply are typed errors', async () => {
  const m = new EpochManager(openDb(':memory:', epochMigrations), new InMemoryShareVault(), 'self', { policy: testPolicy(() => []) });
  const committee = membersInOrder(['p1', 'p2']);
  for (let epoch = 1; epoch <= 20; epoch++) {
    const key: EpochKey = { epoch, network: 'regtest', outputKey: 'aa'.repeat(32), internalKey: 'ee'.repeat(32), threshold: 2, committee, verifyingShares: {}, commitments: [] };
    const record: EpochRecord = {
      version: 1, kind: 'keygen', network: 'regtest', epoch, attempt: TEST_ATTEMPT, previousEpoch: epoch > 1 ? epoch - 1 : null, outputKey: key.outputKey, internalKey: key.internalKey,
      vaultAddress: 'bcrt1p' + 'a'.repeat(58), committee, threshold: 2, transcriptHash: '01'.repeat(32), keyHash: epochKeyHash(key), testSignature: null,
    };
    m.store.adopt({ record, signatures: [], key, status: 'adopted', hasShare: false, retire: [], at: 0 });
  }
  const page = serveEpochSync(m, { afterEpoch: 2 });
  assert.equal(page.epochs.length, EPOCH_SYNC_MAX_EPOCHS);
  assert.deepEqual(page.epochs.map((e) => e.record.epoch), Array.from({ length: 16 }, (_, i) => i + 3));
  assert.deepEqual(serveEpochSync(m, { afterEpoch: 18 }).epochs.map((e) => e.record.epoch), [19, 20]);
  assert.deepEqual(serveEpochSync(m, { afterEpoch: 20 }).epochs, []);
  assert.throws(() => serveEpochSync(m, { afterEpoch: -1 }), (e) => isMetanodeError(e, 'INVALID_MESSAGE'));
  assert.throws(() => serveEpochSync(m, { afterEpoch: 1, more: true }), (e) => isMetanodeError(e, 'INVALID_MESSAGE'));
  await assert.rejects(importEpochs(m, { epochs: [page.epochs[1], page.epochs[0]] }, { from: 'peerY' }), (e) => isMetanodeError(e, 'INVALID_MESSAGE') && e.culprits[0] === 'peerY');
  await assert.rejects(importEpochs(m, { epochs: 'x' }, { from: 'peerY' }), (e) => isMetanodeError(e, 'INVALID_MESSAGE'));
});
