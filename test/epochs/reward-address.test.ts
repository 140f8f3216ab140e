// Members' reward addresses in the epoch record (issue 15, leavers): written by keygen from each
// member's stake, covered by the plan hash (members that see different addresses fail the attempt
// unblamed), validated wherever a record is parsed, and the source of a leaver's payout address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, runAll } from '../rounds/keygen/harness.js';
import { computeCommittee } from '../../src/rounds/committee.js';
import { startKeygen } from '../../src/rounds/keygen/run.js';
import { keygenPlanHash } from '../../src/epochs/attempt.js';
import { regroupPlanHash } from '../../src/rounds/regroup/regroup.js';
import { serveEpochSync, importEpochs, type EpochSyncEntry } from '../../src/epochs/sync.js';
import { signRecord } from '../../src/epochs/attest.js';
import { EpochRecordSchema, type EpochRecord } from '../../src/epochs/record.js';
import { leaverAddresses, type LineageRecord } from '../../src/custody/leavers.js';
import { rewardAddressesOf } from '../../src/node/ceremony-runner.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { dkgKeys } from '../rounds/signing/harness.js';

const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
// Regtest P2WPKH addresses (any valid ones) and a mainnet one.
const ADDR = ['bcrt1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3lgth6c', 'bcrt1qyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zs4w3j0', 'bcrt1qxvenxvenxvenxvenxvenxvenxvenxvenztev8a', 'bcrt1qg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyay3npn'];
const MAINNET = 'bc1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3h8ffkz';

async function keygenWith(h: Harness, round: number, addressesFor: (peerId: string) => Record<string, string>) {
  const { committee, threshold } = computeCommittee(h.staked(), { max: 15 });
  return runAll(
    h,
    h.nodes.map((node) => ({ node, ...startKeygen({ ports: node.ports, manager: node.manager, network: 'regtest', round, startedAt: round * 60_000, committee, threshold, rewardAddresses: addressesFor(node.peerId), tickMs: 0 }) })),
  );
}

test('keygen writes each member\'s stake reward address into the record every member signs; a fresh node imports it by sync', async () => {
  const h = await Harness.create(4);
  const addresses = Object.fromEntries(h.nodes.map((n, i) => [n.peerId, ADDR[i]!]));
  const out = await keygenWith(h, 1, () => addresses);
  const records = h.nodes.map((n) => {
    const o = out.get(n.peerId)!;
    assert.ok(o.ok, JSON.stringify(!o.ok && o.failure));
    return o.record;
  });
  assert.equal(new Set(records.map((r) => JSON.stringify(r))).size, 1);
  assert.deepEqual(records[0]!.committee.map((m) => [m.peerId, m.rewardAddress]), h.nodes.map((n) => [n.peerId, addresses[n.peerId]]));
  const node = await h.addNode();
  const good = wire(serveEpochSync(h.nodes[0]!.manager, { afterEpoch: 0 })).epochs[0]!;
  const r = await importEpochs(node.manager, { epochs: [good] }, { from: 'peerX', network: 'regtest' });
  assert.deepEqual(r.imported, [1], JSON.stringify(r.rejected));
  assert.equal(node.manager.store.get(1)!.record.committee[2]!.rewardAddress, ADDR[2]);
});

test('a reward address altered in a synced record is refused: the members signed another one', async () => {
  const h = await Harness.create(4);
  await keygenWith(h, 1, () => Object.fromEntries(h.nodes.map((n, i) => [n.peerId, ADDR[i]!])));
  const good = wire(serveEpochSync(h.nodes[0]!.manager, { afterEpoch: 0 })).epochs[0]!;
  const node = await h.addNode();
  const altered: EpochSyncEntry = { ...good, record: { ...good.record, committee: good.record.committee.map((m, i) => (i === 1 ? { ...m, rewardAddress: ADDR[3]! } : m)) } };
  const r = await importEpochs(node.manager, { epochs: [altered] }, { from: 'peerX', network: 'regtest' });
  assert.deepEqual(r.imported, []);
  assert.match(r.rejected[0]!.reason, /^invalid signature from /);
  assert.equal(node.manager.store.get(1), null);
});

test('a record carrying a reward address of another network is refused wherever it is parsed, even signed by every member', async () => {
  const h = await Harness.create(4);
  await keygenWith(h, 1, () => ({}));
  const good = wire(serveEpochSync(h.nodes[0]!.manager, { afterEpoch: 0 })).epochs[0]!;
  assert.ok(good.record.committee.every((m) => m.rewardAddress === undefined), 'no address given: the record has none (older records look the same)');
  assert.ok(EpochRecordSchema.safeParse(good.record).success);
  const record: EpochRecord = { ...good.record, committee: good.record.committee.map((m, i) => (i === 0 ? { ...m, rewardAddress: MAINNET } : m)) };
  const bad = EpochRecordSchema.safeParse(record);
  assert.equal(bad.success, false);
  assert.match(bad.error!.issues[0]!.message, /is not a regtest address/);
  const signatures = await Promise.all(record.committee.map((m) => signRecord(record, m.peerId, h.node(m.peerId).ports.sign)));
  const node = await h.addNode();
  await assert.rejects(importEpochs(node.manager, { epochs: [{ record, signatures, key: good.key }] }, { from: 'peerX', network: 'regtest' }), (e) => isMetanodeError(e) && e.code === 'INVALID_MESSAGE' && /is not a regtest address/.test(e.message));
  assert.equal(node.manager.store.get(1), null);
});

test('members that see different reward addresses fail the keygen without naming anyone and without equivocation evidence', async () => {
  const h = await Harness.create(4);
  const addresses = Object.fromEntries(h.nodes.map((n, i) => [n.peerId, ADDR[i]!]));
  const odd = h.nodes[2]!.peerId;
  // The odd node's stake view still has an older stake of node 1 (another reward address).
  const out = await keygenWith(h, 1, (p) => (p === odd ? { ...addresses, [h.nodes[1]!.peerId]: ADDR[3]! } : addresses));
  for (const n of h.nodes) {
    const o = out.get(n.peerId)!;
    assert.ok(!o.ok, `${n.peerId} must not adopt`);
    assert.equal(o.failure.code, 'ABORTED');
    assert.deepEqual(o.failure.culprits, [], 'a disagreement of views blames nobody');
    assert.equal(n.manager.current(), null);
    assert.deepEqual(n.manager.violations(), []);
  }
});

test('the keygen and regroup plan hashes cover reward addresses; without them they are what they were', () => {
  const committee = [{ peerId: 'a', identifier: '01'.padStart(64, '0') }, { peerId: 'b', identifier: '02'.padStart(64, '0') }];
  const plan = { network: 'regtest', epoch: 2, previousEpoch: 1, committee, threshold: 2 };
  const legacy = keygenPlanHash(plan);
  assert.equal(keygenPlanHash({ ...plan, rewardAddresses: {} }), legacy);
  assert.notEqual(keygenPlanHash({ ...plan, rewardAddresses: { a: ADDR[0]! } }), legacy);
  assert.notEqual(keygenPlanHash({ ...plan, rewardAddresses: { a: ADDR[0]! } }), keygenPlanHash({ ...plan, rewardAddresses: { a: ADDR[1]! } }));
  const ks = dkgKeys(5);
  const rp = { network: 'regtest' as const, epoch: 2, oldKey: ks.key, dealers: ks.key.committee.slice(0, 4), newCommittee: ks.key.committee, newThreshold: 4 };
  assert.equal(regroupPlanHash({ ...rp, rewardAddresses: {} }), regroupPlanHash(rp));
  assert.notEqual(regroupPlanHash({ ...rp, rewardAddresses: { peerA: ADDR[0]! } }), regroupPlanHash({ ...rp, rewardAddresses: { peerA: ADDR[1]! } }));
});

test('rewardAddressesOf: committee members only, addresses of the configured network only', () => {
  const committee = [{ peerId: 'a', identifier: '01'.padStart(64, '0') }, { peerId: 'b', identifier: '02'.padStart(64, '0') }];
  const staked = [{ peerId: 'a', rewardAddress: ADDR[0]! }, { peerId: 'b', rewardAddress: MAINNET }, { peerId: 'c', rewardAddress: ADDR[2]! }];
  assert.deepEqual(rewardAddressesOf(staked, committee, 'regtest'), { a: ADDR[0] });
});

test('leaverAddresses: the newest record of the lineage that lists a peer gives its address; current members are no leavers; a missing record gives null', () => {
  const rec = (epoch: number, previousEpoch: number | null, committee: LineageRecord['committee']): LineageRecord => ({ epoch, previousEpoch, committee });
  const records = new Map<number, LineageRecord>([
    [1, rec(1, null, [{ peerId: 'a', rewardAddress: ADDR[0] }, { peerId: 'x', rewardAddress: ADDR[1] }, { peerId: 'y', rewardAddress: ADDR[2] }, { peerId: 'z', rewardAddress: ADDR[3] }])],
    [2, rec(2, 1, [{ peerId: 'a' }, { peerId: 'x', rewardAddress: ADDR[3] }, { peerId: 'z' }])],
    [3, rec(3, 2, [{ peerId: 'a' }])],
    // An epoch outside the lineage of 3 (e.g. a competing attempt's number) is never read.
    [4, rec(4, 1, [{ peerId: 'a' }, { peerId: 'w', rewardAddress: ADDR[0] }])],
  ]);
  const get = (e: number) => records.get(e) ?? null;
  assert.deepEqual(
    [...leaverAddresses(3, get)!].sort(),
    [['x', ADDR[3]], ['y', ADDR[2]]],
    'x: its newest record (2); y: record 1; z: its newest record has no address; a: a member now',
  );
  assert.deepEqual([...leaverAddresses(1, get)!], [], 'the first epoch has no leavers');
  records.delete(2);
  assert.equal(leaverAddresses(3, get), null, 'a gap in the lineage: nothing is derived');
  assert.equal(leaverAddresses(9, get), null);
  records.set(2, rec(2, 3, []));
  assert.equal(leaverAddresses(3, get), null, 'a lineage that does not go down is refused');
});
