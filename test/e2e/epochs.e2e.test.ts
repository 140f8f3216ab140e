// Keygen epochs and regroups over the network (DESIGN §4), on real nodes over loopback: what
// every node adopts, who is named when a member cheats, what a restart mid-ceremony leaves, and
// that clients can verify the epoch record across nodes (/v1/epochs + verify-epoch).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFederation, waitFor, epochOf, requestTransfer, transferState, type Federation, type TestNode } from './harness.js';
import { createTssProof, verifyTssProof } from '../../src/crypto/proof.js';
import { verifyEpochCommand } from '../../src/cli/commands/verify-epoch.js';
import { listRounds } from '../../src/rounds/roundlog.js';
import type { EpochFailure } from '../../src/epochs/store.js';

const feds: Federation[] = [];
after(async () => {
  await Promise.allSettled(feds.map((f) => f.stop()));
});

async function federation(opts: Parameters<typeof startFederation>[0]): Promise<Federation> {
  const fed = await startFederation(opts);
  feds.push(fed);
  if (process.env.METANODE_KEEP_E2E) console.log(`federation in ${fed.dir}`);
  return fed;
}

/**
 * A 6-field cron that fires `count` times, `everyS` apart, the first at `firstAt` (ms): the
 * seconds are listed explicitly so nothing fires between now and `firstAt` (a keygen among the
 * nodes started so far would otherwise race the last ones' start). count * everyS < 60.
 */
function secondsCron(firstAt: number, everyS: number, count: number): string {
  if (count * everyS >= 60) throw new Error('secondsCron: the firings must fit in one minute');
  const s0 = Math.floor(firstAt / 1000) % 60;
  const secs = Array.from({ length: count }, (_, k) => (s0 + k * everyS) % 60);
  return `${secs.join(',')} * * * * *`;
}

const running = (fed: Federation) => fed.nodes.filter((n) => n.running);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when every given node's current epoch is the same one and satisfies `ok`. */
async function sameEpoch(nodes: TestNode[], ms: number, what: string, ok: (e: { epoch: number; vault: string }) => boolean = () => true) {
  return waitFor(async () => {
    const eps = await Promise.all(nodes.map(epochOf));
    const first = eps[0];
    return first && eps.every((e) => e && e.epoch === first.epoch && e.vault === first.vault) && ok(first) ? first : undefined;
  }, ms, what);
}

function record(node: TestNode, epoch: number) {
  const e = node.running!.ctx.manager.store.get(epoch);
  assert.ok(e, `${node.name} has no record of epoch ${epoch}`);
  return e;
}

function failures(node: TestNode, kind: 'keygen' | 'regroup'): EpochFailure[] {
  return node.running ? node.running.ctx.manager.store.failures(1000).filter((f) => f.kind === kind) : [];
}

/** A failure that names exactly `culprit`, directly or as the culprits of the abort it received. */
function namesOnly(f: EpochFailure, culprit: string): boolean {
  if (f.culprits.length) return f.culprits.length === 1 && f.culprits[0] === culprit;
  const reported = (f.detail as { reported?: { culprits?: string[] } }).reported;
  return !!reported?.culprits && reported.culprits.length === 1 && reported.culprits[0] === culprit;
}

const attemptOf = (f: EpochFailure) => `${f.epoch}/${String((f.detail as { round?: number }).round)}`;

/**
 * Waits for an attempt of `kind` (epoch and round) that failed naming `bad`: every other running
 * node recorded that attempt's failure naming only `bad` (directly, or as the culprits of the
 * abort it received), at least one named it directly, and no node adopted the attempted epoch.
 * Returns the attempted epoch.
 */
async function expectNamed(fed: Federation, kind: 'keygen' | 'regroup', bad: TestNode, since: number): Promise<number> {
  const honest = running(fed).filter((n) => n !== bad);
  const direct = await waitFor(() => {
    const d = honest.flatMap((n) => failures(n, kind)).find((f) => f.at >= since && f.culprits.length === 1 && f.culprits[0] === bad.peerId);
    if (!d) return undefined;
    return honest.every((n) => failures(n, kind).some((f) => attemptOf(f) === attemptOf(d))) ? d : undefined;
  }, 60_000, `a ${kind} failure naming ${bad.name}`);
  for (const n of honest) {
    const fs = failures(n, kind).filter((f) => attemptOf(f) === attemptOf(direct));
    assert.ok(fs.length > 0 && fs.every((f) => namesOnly(f, bad.peerId)), `${n.name} records the ${kind} attempt ${attemptOf(direct)} as ${JSON.stringify(fs.map((f) => [f.code, f.culprits, f.message]))}`);
  }
  // Give a straggler time to finish, then check nobody switched to the attempted epoch.
  await sleep(1_500);
  for (const n of running(fed)) assert.equal(n.running!.ctx.manager.store.get(direct.epoch), null, `${n.name} adopted epoch ${direct.epoch} of a failed ${kind}`);
  return direct.epoch;
}

/** The node's current epoch and share belong together: its share proves knowledge against that epoch's verifying share. */
async function assertConsistentShare(node: TestNode): Promise<{ epoch: number; hasShare: boolean } | null> {
  const m = node.running!.ctx.manager;
  const cur = await m.currentKeyAndShare();
  const stored = await m.vault.list();
  const live = new Set(m.store.all().filter((e) => e.status !== 'retired').map((e) => e.record.epoch));
  for (const e of stored) assert.ok(live.has(e), `${node.name} keeps a share of epoch ${e}, which is not a live adopted epoch`);
  if (!cur) return null;
  if (cur.share) {
    assert.equal(cur.share.epoch, cur.record.epoch, 'share and record of different epochs');
    const vs = cur.key.verifyingShares[cur.share.identifier];
    assert.ok(vs, `${node.name}'s identifier has no verifying share in epoch ${cur.record.epoch}`);
    const ctx = { network: 'regtest' as const, epoch: cur.record.epoch, peerId: node.peerId, round: 1 };
    assert.ok(verifyTssProof(vs, ctx, createTssProof(cur.share, ctx)), `${node.name}'s share of epoch ${cur.record.epoch} is not the one the epoch key commits to`);
  } else {
    assert.ok(!cur.record.committee.some((c) => c.peerId === node.peerId), `${node.name} is in the committee of epoch ${cur.record.epoch} but holds no share`);
  }
  return { epoch: cur.record.epoch, hasShare: cur.share !== null };
}

/**
 * Stops `node` from inside its fault hook just as it is about to send a message of `type` (the
 * message is not sent), waits for the stop, and starts it again.
 */
async function restartAt(node: TestNode, type: string): Promise<void> {
  const stopping: Promise<void>[] = [];
  node.faults.outgoing = (t, payload) => {
    if (t !== type) return payload;
    node.faults.outgoing = undefined;
    stopping.push(node.stop());
    return null;
  };
  await waitFor(() => stopping.length > 0, 60_000, `${node.name} about to send ${type}`);
  await stopping[0];
  await node.start();
}

/** Pays one transfer and returns the threshold set of the round that paid it (as `reader` logged it). */
async function payTransfer(fed: Federation, at: TestNode, readers: TestNode[]): Promise<{ txid: string; thresholdSet: string[] }> {
  const t = await requestTransfer(fed, at, 60_000);
  const st = await waitFor(async () => {
    const s = await transferState(at, t.id);
    return s?.state === 'paid' && s.txid ? s : undefined;
  }, 90_000, `transfer ${t.id} paid`);
  const set = await waitFor(() => {
    for (const r of readers) {
      const round = listRounds(r.running!.ctx.db, 200).find((x) => x.txid === st.txid && x.thresholdSet);
      if (round) return round.thresholdSet!;
    }
    return undefined;
  }, 10_000, `the round that paid ${st.txid}`);
  return { txid: st.txid!, thresholdSet: set };
}

test('keygen: 5 nodes adopt one key, a second keygen replaces it, none after keygen_until; verify-epoch agrees', { timeout: 150_000 }, async () => {
  const t0 = Date.now();
  const fed = await federation({ n: 5, keygen: '*/6 * * * * *', keygenUntilMs: 45_000, committeeMax: 5 });
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

test('keygen: a bad share or a bad proof of knowledge names its sender and adopts nothing; a restart mid-ceremony leaves old or new key', { timeout: 200_000 }, async () => {
  const t0 = Date.now();
  const fed = await federation({ n: 5, keygen: '*/6 * * * * *', keygenUntilMs: 10 * 60_000, committeeMax: 5 });
  const [n1, n2, n3, n4, n5] = fed.nodes as [TestNode, TestNode, TestNode, TestNode, TestNode];
  const flip = (hex: string) => (hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0'));

  // n5 sends every recipient a round-2 share that does not match its commitment.
  const current = async () => JSON.stringify(await Promise.all(fed.nodes.map(epochOf)));
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

  // With everyone honest again the next keygen succeeds for all five, n3 included.
  const e = await sameEpoch(fed.nodes, 40_000, 'a clean keygen adopted by all 5', (x) => (after3 === null || x.epoch > after3.epoch) && record(n1, x.epoch).record.committee.length === 5);
  assert.equal(record(n1, e.epoch).record.committee.length, 5);
  for (const n of [n1, n2, n3, n4, n5]) assert.deepEqual(await assertConsistentShare(n), { epoch: e.epoch, hasShare: true });
  console.log(`fault scenario: ${Date.now() - t0} ms`);
});
