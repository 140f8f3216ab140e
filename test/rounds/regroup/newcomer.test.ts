import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, keygenAll, runAll, signWith, type HNode } from '../keygen/harness.js';
import { computeRegroupCommittee, selectDealers, type PeerView } from '../../../src/rounds/committee.js';
import { startRegroup } from '../../../src/rounds/regroup/run.js';
import { RegroupTypes } from '../../../src/rounds/regroup/messages.js';
import type { CeremonyOutcome } from '../../../src/rounds/keygen/run.js';
import { verifyBip340 } from '../../../src/crypto/signing.js';
import { serveEpochSync, importEpochs, epochSyncRequest } from '../../../src/epochs/sync.js';
import { isMetanodeError } from '../../../src/util/errors.js';

const MSG = 'ef'.repeat(32);
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Peer table as every node sees it: offline nodes not seen for an hour; optional stake heights. */
function views(h: Harness, heights: Record<string, number> = {}): PeerView[] {
  return h.staked().map((s) => ({ ...s, stakeHeight: heights[s.peerId] ?? s.stakeHeight, lastSeenMs: h.node(s.peerId).offline ? h.clock - 3600_000 : h.clock - 1000 }));
}

async function regroup(h: Harness, round: number, peers: PeerView[], max: number): Promise<{ out: Map<string, CeremonyOutcome>; plan: ReturnType<typeof computeRegroupCommittee> }> {
  const online = h.nodes.filter((n) => !n.offline);
  const cur = h.nodes[0].manager.current()!;
  const plan = computeRegroupCommittee({ peers, oldCommittee: cur.record.committee, now: h.clock, offlineAfterMs: 60_000, violations: [], cfg: { max } });
  const dealers = selectDealers(cur.record.committee, cur.record.threshold, (p) => !h.node(p).offline);
  const starts = [];
  for (const node of online) {
    const s = await startRegroup({ ports: node.ports, manager: node.manager, network: 'regtest', round, startedAt: round * 60_000, dealers, newCommittee: plan.committee, newThreshold: plan.threshold, tickMs: 0 });
    starts.push({ node, ...s });
  }
  return { out: await runAll(h, starts), plan };
}

/** The newcomer learns epoch 1 only by epoch sync: public record and key, no share. */
async function catchUp(node: HNode, from: HNode): Promise<void> {
  const r = await importEpochs(node.manager, wire(serveEpochSync(from.manager, epochSyncRequest(node.manager))), { from: from.peerId, network: 'regtest' });
  assert.deepEqual(r.rejected, []);
  assert.ok(r.imported.length > 0);
}

test('a newcomer that only imported epoch 1 joins the regroup, gets a share and signs; the offline pruned member has no share for epoch 2', async () => {
  const h = await Harness.create(5);
  for (const o of (await keygenAll(h, 1)).values()) assert.ok(o.ok);
  const epoch1 = h.nodes[0].manager.current()!.record;
  const newcomer = await h.addNode();
  const gone = h.nodes[1];
  gone.offline = true;

  // Without catch-up there is nothing to regroup from.
  await assert.rejects(
    startRegroup({ ports: newcomer.ports, manager: newcomer.manager, network: 'regtest', round: 5, startedAt: 5 * 60_000, dealers: [], newCommittee: [], newThreshold: 2, tickMs: 0 }),
    (e) => isMetanodeError(e, 'INVALID_INPUT'),
  );
  await catchUp(newcomer, h.nodes[0]);
  const before = await newcomer.manager.currentKeyAndShare();
  assert.equal(before!.record.epoch, 1);
  assert.equal(before!.share, null);

  const { out, plan } = await regroup(h, 100, views(h), 15);
  assert.deepEqual(plan.pruned, [{ peerId: gone.peerId, reason: 'offline' }]);
  assert.deepEqual(plan.admitted, [newcomer.peerId]);
  assert.ok(h.sent.some((d) => d.type === RegroupTypes.subshare && d.to === newcomer.peerId), 'the newcomer received sub-shares');
  for (const [peer, o] of out) {
    assert.ok(o.ok, `${peer}: ${JSON.stringify(!o.ok && o.failure)}`);
    assert.equal(o.record.epoch, 2);
    assert.equal(o.record.outputKey, epoch1.outputKey, 'group key unchanged');
    assert.equal(o.record.vaultAddress, epoch1.vaultAddress, 'vault address unchanged');
  }
  const mine = await newcomer.manager.currentKeyAndShare();
  assert.equal(mine!.record.epoch, 2);
  assert.equal(mine!.share!.epoch, 2, 'the newcomer ends with its own share');
  const sig = await signWith([newcomer, h.nodes[0], h.nodes[2], h.nodes[3]], MSG);
  assert.ok(verifyBip340(sig, MSG, epoch1.outputKey));

  // The pruned member comes back: it still holds its epoch-1 share until it learns epoch 2.
  gone.offline = false;
  assert.ok(await gone.vault.load(1));
  const r = await importEpochs(gone.manager, wire(serveEpochSync(h.nodes[0].manager, epochSyncRequest(gone.manager))), { from: h.nodes[0].peerId, network: 'regtest' });
  assert.deepEqual(r.imported, [2]);
  assert.deepEqual(r.retired, [1], 'the reshared epoch is retired (same key and address)');
  const g = await gone.manager.currentKeyAndShare();
  assert.equal(g!.record.epoch, 2);
  assert.equal(g!.share, null, 'the pruned member cannot sign for epoch 2');
  assert.equal(await gone.manager.loadShare(2), null);
  assert.equal(await gone.manager.loadShare(1), null);
  assert.deepEqual(await gone.vault.list(), [], 'its old share is destroyed');
  await assert.rejects(signWith([gone, h.nodes[0], h.nodes[2], h.nodes[3]], MSG), /has no share/);
});

test('an online member pruned by the cap takes part as observer and switches to epoch 2 with no share', async () => {
  const h = await Harness.create(5);
  for (const o of (await keygenAll(h, 1)).values()) assert.ok(o.ok);
  const epoch1 = h.nodes[0].manager.current()!.record;
  const newcomer = await h.addNode();
  await catchUp(newcomer, h.nodes[2]);
  // The newcomer's stake is older than node 4's: with committee.max 5, node 4 drops out.
  const capped = h.nodes[4];
  h.stakeHeights[newcomer.peerId] = 50;
  const { out, plan } = await regroup(h, 200, views(h), 5);
  assert.deepEqual(plan.pruned, [{ peerId: capped.peerId, reason: 'cap' }]);
  for (const [peer, o] of out) assert.ok(o.ok, `${peer}: ${JSON.stringify(!o.ok && o.failure)}`);
  const c = await capped.manager.currentKeyAndShare();
  assert.equal(c!.record.epoch, 2);
  assert.equal(c!.share, null);
  assert.deepEqual(await capped.vault.list(), [], 'old share destroyed after the switch');
  const sig = await signWith([newcomer, h.nodes[1], h.nodes[2], h.nodes[3]], MSG);
  assert.ok(verifyBip340(sig, MSG, epoch1.outputKey));
});

test('a dealer that holds only the public epoch aborts at once; nobody switches, old shares still sign', async () => {
  const h = await Harness.create(4);
  for (const o of (await keygenAll(h, 1)).values()) assert.ok(o.ok);
  const epoch1 = h.nodes[0].manager.current()!;
  // Node 0 holds epoch 1 only publicly (it synced the record after losing its ceremony result).
  const n0 = h.nodes[0];
  await n0.vault.destroy(1);
  n0.db.prepare('UPDATE epochs SET has_share = 0 WHERE epoch = 1').run();
  assert.equal((await n0.manager.currentKeyAndShare())!.share, null);
  const plan = computeRegroupCommittee({ peers: views(h), oldCommittee: epoch1.record.committee, now: h.clock, offlineAfterMs: 60_000, violations: [], cfg: { max: 15 } });
  const dealers = selectDealers(epoch1.record.committee, epoch1.record.threshold, () => true);
  assert.ok(dealers.some((d) => d.peerId === n0.peerId));
  const starts = [];
  for (const node of h.nodes) starts.push({ node, ...(await startRegroup({ ports: node.ports, manager: node.manager, network: 'regtest', round: 300, startedAt: 300 * 60_000, dealers, newCommittee: plan.committee, newThreshold: plan.threshold, tickMs: 0 })) });
  const out = await runAll(h, starts);
  assert.ok(h.sent.some((d) => d.from === n0.peerId && d.type === RegroupTypes.abort));
  assert.ok(!h.sent.some((d) => d.type === RegroupTypes.subshare), 'no secret moved');
  for (const [peer, o] of out) {
    assert.ok(!o.ok);
    assert.equal(o.failure.code, peer === n0.peerId ? 'KEYSTORE' : 'ABORTED', 'the others stop on its abort, not on a timeout');
    assert.deepEqual(o.failure.culprits, []);
  }
  for (const n of h.nodes) assert.equal(n.manager.current()!.record.epoch, 1);
  const sig = await signWith([h.nodes[1], h.nodes[2], h.nodes[3]], MSG);
  assert.ok(verifyBip340(sig, MSG, epoch1.record.outputKey));
});

test('a dealer that leaves the committee signs the regroup record: t_old of the old holders consent, and every node adopts it', async () => {
  const h = await Harness.create(4);
  for (const o of (await keygenAll(h, 1)).values()) assert.ok(o.ok);
  const epoch1 = h.nodes[0].manager.current()!.record;
  const [x, y] = [await h.addNode(), await h.addNode()];
  for (const n of [x, y]) await catchUp(n, h.nodes[0]);
  // Two newcomers with older stakes and committee.max 4: only nodes 0 and 1 of the old committee
  // stay, fewer than t_old = 3. Dealer node 2 leaves; its signature is the third consent.
  h.stakeHeights[x.peerId] = 50;
  h.stakeHeights[y.peerId] = 51;
  const { out, plan } = await regroup(h, 400, views(h), 4);
  assert.deepEqual(plan.committee.map((m) => m.peerId), [x.peerId, y.peerId, h.nodes[0].peerId, h.nodes[1].peerId]);
  for (const [peer, o] of out) assert.ok(o.ok, `${peer}: ${JSON.stringify(!o.ok && o.failure)}`);
  const rec = x.manager.current()!;
  assert.equal(rec.record.kind, 'regroup');
  const oldIds = new Set(epoch1.committee.map((m) => m.peerId));
  const consenting = rec.signatures.filter((s) => oldIds.has(s.peerId)).map((s) => s.peerId);
  assert.ok(consenting.includes(h.nodes[2].peerId), 'the leaving dealer signed');
  assert.ok(consenting.length >= epoch1.threshold);
  for (const n of h.nodes) assert.equal(n.manager.current()!.record.epoch, 2, `${n.peerId} switched`);
  assert.equal((await h.nodes[2].manager.currentKeyAndShare())!.share, null);
  const sig = await signWith([x, y, h.nodes[0]], MSG);
  assert.ok(verifyBip340(sig, MSG, epoch1.outputKey));
});
