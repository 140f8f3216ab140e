import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, keygenAll, runAll, signWith, type HNode } from '../keygen/harness.js';
import { computeRegroupCommittee, selectDealers, type PeerView } from '../../../src/rounds/committee.js';
import { startRegroup } from '../../../src/rounds/regroup/run.js';
import { RegroupTypes } from '../../../src/rounds/regroup/messages.js';
import type { CeremonyOutcome } from '../../../src/rounds/keygen/run.js';
import { verifyBip340 } from '../../../src/crypto/signing.js';
import { regroupTestMessage } from '../../../src/epochs/record.js';
import type { ReshareSubShare } from '../../../src/crypto/reshare.js';

const MSG = 'cd'.repeat(32);

/** Peer table as every node sees it: all staked, the offline ones not seen for an hour. */
function views(h: Harness): PeerView[] {
  return h.staked().map((s) => ({ ...s, lastSeenMs: h.node(s.peerId).offline ? h.clock - 3600_000 : h.clock - 1000 }));
}

async function regroupAll(h: Harness, round: number, rewardAddressesFor?: (peerId: string) => Record<string, string>): Promise<{ out: Map<string, CeremonyOutcome>; plan: ReturnType<typeof computeRegroupCommittee> }> {
  const online = h.nodes.filter((n) => !n.offline);
  const cur = online[0].manager.current()!;
  const plan = computeRegroupCommittee({ peers: views(h), oldCommittee: cur.record.committee, now: h.clock, offlineAfterMs: 60_000, violations: [], cfg: { max: 15 } });
  const dealers = selectDealers(cur.record.committee, cur.record.threshold, (p) => !h.node(p).offline);
  const starts = [];
  for (const node of online) {
    const s = await startRegroup({ ports: node.ports, manager: node.manager, network: 'regtest', round, startedAt: round * 60_000, dealers, newCommittee: plan.committee, newThreshold: plan.threshold, ...(rewardAddressesFor ? { rewardAddresses: rewardAddressesFor(node.peerId) } : {}), tickMs: 0 });
    starts.push({ node, ...s });
  }
  return { out: await runAll(h, starts), plan };
}

async function setup(): Promise<{ h: Harness; gone: HNode; newcomer: HNode; keyRecord: NonNullable<ReturnType<HNode['manager']['current']>>['record'] }> {
  const h = await Harness.create(5);
  const kg = await keygenAll(h, 1);
  for (const o of kg.values()) assert.ok(o.ok);
  const keyRecord = h.nodes[0].manager.current()!.record;
  const gone = h.nodes[1];
  const newcomer = await h.addNode(); // staked after the keygen: least senior
  // The newcomer has no epoch yet; give it the public record so it can follow the regroup.
  const src = h.nodes[0].manager.current()!;
  await newcomer.manager.store.adopt({ record: src.record, signatures: src.signatures, key: src.key, status: 'adopted', hasShare: false, retire: [], at: h.clock });
  gone.offline = true;
  return { h, gone, newcomer, keyRecord };
}

test('regroup with one old member offline and one new staked member: same key and vault, new member signs, pruned one out', async () => {
  const { h, gone, newcomer, keyRecord } = await setup();
  const { out, plan } = await regroupAll(h, 100);
  assert.deepEqual(plan.pruned, [{ peerId: gone.peerId, reason: 'offline' }]);
  assert.deepEqual(plan.admitted, [newcomer.peerId]);
  for (const [peer, o] of out) {
    assert.ok(o.ok, `${peer}: ${JSON.stringify(!o.ok && o.failure)}`);
    const r = o.record;
    assert.equal(r.kind, 'regroup');
    assert.equal(r.epoch, 2);
    assert.equal(r.outputKey, keyRecord.outputKey, 'group key unchanged');
    assert.equal(r.vaultAddress, keyRecord.vaultAddress, 'vault address unchanged');
    assert.ok(!r.committee.some((m) => m.peerId === gone.peerId), 'pruned member is out');
    assert.ok(r.committee.some((m) => m.peerId === newcomer.peerId));
    assert.ok(verifyBip340(r.testSignature!, regroupTestMessage('regtest', 2, r.outputKey), r.outputKey));
  }
  for (const n of h.nodes.filter((x) => !x.offline)) {
    assert.equal(n.manager.current()!.record.epoch, 2);
    assert.equal(await n.vault.load(1), null, 'old share destroyed after the switch');
    assert.ok(await n.vault.load(2));
  }
  // The new member signs together with three old members; the result verifies against the vault key.
  const signers = [newcomer, h.nodes[0], h.nodes[2], h.nodes[3]];
  const sig = await signWith(signers, MSG);
  assert.ok(verifyBip340(sig, MSG, keyRecord.outputKey));
});

test('a dealer sending a bad sub-share is named; regroup skipped; old shares still sign', async () => {
  const { h, newcomer, keyRecord } = await setup();
  const bad = h.nodes[0].peerId; // most senior: always a dealer
  h.tamper = (d) => {
    if (d.from === bad && d.type === RegroupTypes.subshare && d.to === newcomer.peerId) {
      const s = d.payload as ReshareSubShare;
      return { ...s, subShare: (BigInt('0x' + s.subShare) ^ 1n).toString(16).padStart(64, '0') };
    }
    return d.payload;
  };
  const { out } = await regroupAll(h, 101);
  const f = out.get(newcomer.peerId)!;
  assert.ok(!f.ok);
  assert.equal(f.failure.code, 'INVALID_SECRET_SHARE');
  assert.deepEqual(f.failure.culprits, [bad]);
  for (const [, o] of out) assert.ok(!o.ok, 'nobody switches');
  for (const n of h.nodes.filter((x) => !x.offline && x !== newcomer)) {
    assert.equal(n.manager.current()!.record.epoch, 1);
    assert.ok(await n.vault.load(1), 'old share kept');
    assert.equal(await n.vault.load(2), null);
  }
  assert.equal(newcomer.manager.store.failures()[0].culprits[0], bad);
  const sig = await signWith([h.nodes[0], h.nodes[2], h.nodes[3], h.nodes[4]], MSG);
  assert.ok(verifyBip340(sig, MSG, keyRecord.outputKey));
});

test('participants with different plans abort before any secret moves, blaming nobody', async () => {
  const { h } = await setup();
  const online = h.nodes.filter((n) => !n.offline);
  const cur = online[0].manager.current()!;
  const dealers = selectDealers(cur.record.committee, cur.record.threshold, (p) => !h.node(p).offline);
  const plan = computeRegroupCommittee({ peers: views(h), oldCommittee: cur.record.committee, now: h.clock, offlineAfterMs: 60_000, violations: [], cfg: { max: 15 } });
  const starts = [];
  for (const [i, node] of online.entries()) {
    // One node believes the committee is smaller (a different liveness view).
    const committee = i === 0 ? plan.committee.slice(0, 4) : plan.committee;
    starts.push({ node, ...(await startRegroup({ ports: node.ports, manager: node.manager, network: 'regtest', round: 7, startedAt: 7 * 60_000, dealers, newCommittee: committee, newThreshold: 3, tickMs: 0 })) });
  }
  const out = await runAll(h, starts);
  assert.ok(!h.sent.some((d) => d.type === RegroupTypes.subshare || d.type === RegroupTypes.dealing));
  for (const [, o] of out) {
    assert.ok(!o.ok);
    assert.deepEqual(o.failure.culprits, []);
  }
});

// Regtest P2WPKH addresses (any valid ones).
const ADDR = ['bcrt1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3lgth6c', 'bcrt1qyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zs4w3j0', 'bcrt1qxvenxvenxvenxvenxvenxvenxvenxvenztev8a', 'bcrt1qg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyay3npn'];

test('a regroup writes each new member\'s reward address into the record every member signs', async () => {
  const { h, gone } = await setup();
  const addresses = Object.fromEntries(h.nodes.filter((n) => n !== gone).map((n, i) => [n.peerId, ADDR[i % ADDR.length]!]));
  const { out, plan } = await regroupAll(h, 100, () => addresses);
  const records = [...out.values()].map((o) => {
    assert.ok(o.ok, JSON.stringify(!o.ok && o.failure));
    return o.record;
  });
  assert.equal(new Set(records.map((r) => JSON.stringify(r))).size, 1);
  assert.deepEqual(records[0]!.committee.map((m) => [m.peerId, m.rewardAddress]), plan.committee.map((m) => [m.peerId, addresses[m.peerId]]));
  for (const n of h.nodes.filter((x) => !x.offline)) assert.deepEqual(n.manager.current()!.record, records[0]);
});

test('regroup participants that see different reward addresses abort before any secret moves, blaming nobody', async () => {
  const { h, gone } = await setup();
  const addresses = Object.fromEntries(h.nodes.filter((n) => n !== gone).map((n, i) => [n.peerId, ADDR[i % ADDR.length]!]));
  const odd = h.nodes[0]!.peerId;
  const { out } = await regroupAll(h, 101, (p) => (p === odd ? { ...addresses, [h.nodes[2]!.peerId]: ADDR[3]! } : addresses));
  assert.ok(!h.sent.some((d) => d.type === RegroupTypes.subshare || d.type === RegroupTypes.dealing));
  for (const [, o] of out) {
    assert.ok(!o.ok);
    assert.deepEqual(o.failure.culprits, []);
  }
  for (const n of h.nodes.filter((x) => !x.offline)) assert.deepEqual(n.manager.violations(), []);
});
