import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, type HNode } from './harness.js';
import { computeCommittee } from '../../../src/rounds/committee.js';
import { startKeygen, type CeremonyOutcome } from '../../../src/rounds/keygen/run.js';
import { keygenInit, keygenStep, DEFAULT_KEYGEN_TIMEOUTS, type KeygenState } from '../../../src/rounds/keygen/keygen.js';
import { CeremonyDriver } from '../../../src/rounds/keygen/driver.js';
import { KeygenTypes } from '../../../src/rounds/keygen/messages.js';
import { vaultAddress } from '../../../src/crypto/taproot.js';
import { signingCommit, signShares, aggregateSignatures, type NonceCommitment } from '../../../src/crypto/signing.js';
import type { DkgRound1Package, DkgRound2Package } from '../../../src/crypto/dkg.js';
import type { EpochKey, KeyShare } from '../../../src/crypto/types.js';

/** Runs one keygen on every node; `special` lets a test replace one node's initial step. */
async function keygen(h: Harness, round: number, special?: { peerId: string; mutate: (s: ReturnType<typeof keygenInit>) => ReturnType<typeof keygenInit> }): Promise<Map<string, CeremonyOutcome | KeygenState>> {
  const { committee, threshold } = computeCommittee(h.staked(), { max: 15 });
  const outcomes = new Map<string, Promise<CeremonyOutcome | KeygenState>>();
  const drivers: { tick(): Promise<void>; stop(): void }[] = [];
  for (const n of h.nodes) {
    if (n.offline) continue;
    if (special && special.peerId === n.peerId) {
      const epoch = n.manager.store.maxEpoch() + 1;
      const init = special.mutate(keygenInit({ network: 'regtest', epoch, round, startedAt: round * 60_000, previousEpoch: n.manager.current()?.record.epoch ?? null, self: n.peerId, committee, threshold, timeouts: DEFAULT_KEYGEN_TIMEOUTS }, h.clock));
      const d = new CeremonyDriver<KeygenState>({ name: 'keygen', self: n.peerId, epoch, round, step: keygenStep, terminal: (s) => s.phase === 'done' || s.phase === 'failed', failureOf: (s) => s.failure, attestType: KeygenTypes.attest, tickMs: 0 }, init, n.ports);
      n.handler = (f, t, p) => d.onMessage(f, t, p);
      drivers.push(d);
      outcomes.set(n.peerId, d.done);
      continue;
    }
    const { driver, outcome } = startKeygen({ ports: n.ports, manager: n.manager, network: 'regtest', round, startedAt: round * 60_000, committee, threshold, tickMs: 0 });
    n.handler = (f, t, p) => driver.onMessage(f, t, p);
    drivers.push(driver);
    outcomes.set(n.peerId, outcome);
  }
  await h.pump();
  // Let every phase deadline pass so stuck members fail with TIMEOUT rather than hang.
  h.clock += 10 * 60_000;
  for (const d of drivers) await d.tick();
  await h.pump();
  const out = new Map<string, CeremonyOutcome | KeygenState>();
  for (const [p, o] of outcomes) out.set(p, await o);
  for (const d of drivers) d.stop();
  for (const n of h.nodes) n.handler = null;
  return out;
}

function ok(o: CeremonyOutcome | KeygenState | undefined): Extract<CeremonyOutcome, { ok: true }> {
  assert.ok(o && 'ok' in o && o.ok, `expected success, got ${JSON.stringify(o && 'failure' in o ? o.failure : o)}`);
  return o as Extract<CeremonyOutcome, { ok: true }>;
}
function failed(o: CeremonyOutcome | KeygenState | undefined) {
  assert.ok(o && 'ok' in o && !o.ok, 'expected failure');
  return (o as Extract<CeremonyOutcome, { ok: false }>).failure;
}

/** t members sign a message with the current key: proof the adopted shares work together. */
async function signWith(nodes: HNode[], message: string): Promise<string> {
  const loaded: { key: EpochKey; share: KeyShare }[] = [];
  for (const n of nodes) {
    const ks = await n.manager.currentKeyAndShare();
    assert.ok(ks && ks.share);
    loaded.push({ key: ks.key, share: ks.share });
  }
  const key = loaded[0].key;
  const commits = loaded.map((l) => signingCommit(l.share, l.key, 1));
  const lists: Record<string, NonceCommitment[]> = {};
  loaded.forEach((l, i) => (lists[l.share.identifier] = commits[i].commitments));
  const shares: Record<string, string[]> = {};
  loaded.forEach((l, i) => (shares[l.share.identifier] = signShares(l.share, l.key, commits[i].nonces, lists, [{ message }])));
  return aggregateSignatures(key, lists, [{ message }], shares)[0];
}

const MSG = 'aa'.repeat(32);

test('keygen with 5 members: all adopt the same key and vault address; a second keygen replaces it', async () => {
  const h = await Harness.create(5);
  const first = await keygen(h, 1);
  const records = h.nodes.map((n) => ok(first.get(n.peerId)).record);
  assert.equal(new Set(records.map((r) => JSON.stringify(r))).size, 1, 'identical records everywhere');
  const r1 = records[0];
  assert.equal(r1.epoch, 1);
  assert.equal(r1.threshold, 4);
  assert.equal(r1.committee.length, 5);
  for (const n of h.nodes) {
    const cur = n.manager.current()!;
    assert.equal(cur.record.vaultAddress, r1.vaultAddress);
    assert.equal(vaultAddress(cur.key), r1.vaultAddress);
    assert.equal(cur.signatures.length, 5);
    assert.ok(await n.vault.load(1));
  }
  assert.equal((await signWith(h.nodes.slice(1, 5), MSG)).length, 128);

  const second = await keygen(h, 2);
  const r2 = ok(second.get(h.nodes[0].peerId)).record;
  assert.equal(r2.epoch, 2);
  assert.equal(r2.previousEpoch, 1);
  assert.notEqual(r2.outputKey, r1.outputKey);
  for (const n of h.nodes) {
    assert.equal(n.manager.current()!.record.outputKey, r2.outputKey);
    // The old vault is swept by the next custody round; its shares stay until it is empty.
    assert.deepEqual(n.manager.sweepSources().map((s) => [s.epoch, s.vaultAddress]), [[1, r1.vaultAddress]]);
    assert.deepEqual(n.manager.retirableEpochs(new Map([[1, 5000n]])), []);
    assert.deepEqual(n.manager.retirableEpochs({}), [], 'unknown balance keeps the epoch');
    assert.deepEqual(n.manager.retirableEpochs(new Map([[1, 0n]])), [1]);
  }
  await signWith(h.nodes.slice(0, 4), MSG);
});

test('a participant sending a bad round-2 share is named; no key is adopted; the old key stays', async () => {
  const h = await Harness.create(5);
  ok((await keygen(h, 1)).get(h.nodes[0].peerId));
  const bad = h.nodes[2].peerId;
  h.tamper = (d) => {
    if (d.from === bad && d.type === KeygenTypes.round2) {
      const p = d.payload as DkgRound2Package;
      const s = (BigInt('0x' + p.signingShare) + 1n).toString(16).padStart(64, '0');
      return { ...p, signingShare: s };
    }
    return d.payload;
  };
  const out = await keygen(h, 2);
  for (const n of h.nodes) {
    if (n.peerId === bad) continue;
    const f = failed(out.get(n.peerId));
    const named = f.culprits.includes(bad) || ((f.detail.reported as { culprits: string[] } | undefined)?.culprits ?? []).includes(bad);
    assert.ok(named, `${n.peerId} names the bad dealer: ${JSON.stringify(f)}`);
    assert.ok(!f.culprits.some((c) => c !== bad), 'nobody else is blamed');
    assert.equal(n.manager.current()!.record.epoch, 1, 'old key stays');
    assert.equal(await n.vault.load(2), null, 'no share of the failed attempt');
  }
  // At least the direct victims name it with the crypto wrapper's code.
  const direct = h.nodes.filter((n) => n.peerId !== bad).map((n) => failed(out.get(n.peerId))).filter((f) => f.code === 'INVALID_SECRET_SHARE');
  assert.ok(direct.length >= 1);
  assert.deepEqual(direct[0].culprits, [bad]);
  const rows = h.nodes[0].manager.store.failures();
  assert.equal(rows[0].kind, 'keygen');
  await signWith(h.nodes.slice(0, 4), MSG);
});

test('a participant with a bad proof of knowledge is named by everyone; no key is adopted', async () => {
  const h = await Harness.create(5);
  const bad = h.nodes[4].peerId;
  const out = await keygen(h, 1, {
    peerId: bad,
    mutate: (s) => {
      const pkg = s.state.round1[bad] as DkgRound1Package;
      const forged = { ...pkg, proofOfKnowledge: pkg.proofOfKnowledge.slice(0, 130) + 'ff'.repeat(32) };
      return { ...s, state: { ...s.state, round1: { [bad]: forged } }, outbox: [{ to: 'gossip', type: KeygenTypes.round1, payload: forged }] };
    },
  });
  for (const n of h.nodes) {
    if (n.peerId === bad) continue;
    const f = failed(out.get(n.peerId));
    assert.equal(f.code, 'INVALID_PROOF_OF_KNOWLEDGE');
    assert.deepEqual(f.culprits, [bad]);
    assert.equal(n.manager.current(), null);
  }
});

test('echo mismatch names the equivocator', async () => {
  const h = await Harness.create(5);
  const eq = h.nodes[1].peerId;
  const victims = new Set([h.nodes[3].peerId, h.nodes[4].peerId]);
  h.tamper = (d) => {
    if (d.from === eq && d.type === KeygenTypes.round1 && victims.has(d.to)) {
      const p = d.payload as DkgRound1Package;
      // A different (well-formed) package for some recipients: same commitment count, other proof.
      return { ...p, proofOfKnowledge: 'ab'.repeat(97) };
    }
    return d.payload;
  };
  const out = await keygen(h, 1);
  for (const n of h.nodes) {
    if (n.peerId === eq) continue;
    const f = failed(out.get(n.peerId));
    if (f.code === 'ABORTED') continue; // stopped by another member's report first
    assert.equal(f.code, 'INVALID_MESSAGE');
    assert.deepEqual(f.culprits, [eq]);
    assert.match(f.message, /echo mismatch/);
  }
  assert.ok(h.nodes.filter((n) => n.peerId !== eq).some((n) => failed(out.get(n.peerId)).code === 'INVALID_MESSAGE'));
  for (const n of h.nodes) assert.equal(n.manager.current(), null);
});

test('a silent member is named when the phase times out', async () => {
  const h = await Harness.create(4);
  const silent = h.nodes[3].peerId;
  h.node(silent).offline = true;
  const out = await keygen(h, 1);
  for (const n of h.nodes.slice(0, 3)) {
    const f = failed(out.get(n.peerId));
    assert.equal(f.code, 'TIMEOUT');
    assert.deepEqual(f.culprits, [silent]);
    assert.equal(f.detail.phase, 'round1');
  }
});
