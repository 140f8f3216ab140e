// verify-epoch and epochs against real API servers on 127.0.0.1 serving /v1/epochs built from a
// real keygen (3 harness nodes with Ed25519 identities, real FROST, real identity signatures).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, keygenAll } from '../rounds/keygen/harness.js';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import type { EpochEntry, EpochsResponse } from '../../src/api/types.js';
import { EpochsViewResponseSchema } from '../../src/api/epochs-schema.js';
import { createApiClient } from '../../src/cli/client.js';
import { verifyEpochCommand, renderVerifyEpoch, selfCheck, type VerifyEpochResult } from '../../src/cli/commands/verify-epoch.js';
import { epochsCommand, epochsView } from '../../src/cli/commands/epochs.js';
import { render } from '../../src/cli/print.js';
import { UsageError } from '../../src/cli/exit-codes.js';
import { signRecord, verifyEpochFromUrls } from '../../src/epochs/attest.js';
import { epochKeyHash, recordHash, EpochsResponseSchema, type EpochRecord } from '../../src/epochs/record.js';
import { vaultAddress } from '../../src/crypto/taproot.js';
import { identifierAt } from '../../src/crypto/identifiers.js';
import type { EpochKey } from '../../src/crypto/types.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { fakeNode } from '../api/fake-node.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let h: Harness;
let good: EpochEntry;
const servers: ApiServer[] = [];
/** What each of the servers serves; tests replace entries. */
const bodies: EpochsResponse[] = [];
const urls: string[] = [];
let deadUrl: string;

/** The /v1/epochs body a node builds from its store (as src/node/api.ts does). */
function bodyOf(i: number): EpochsResponse {
  const m = h.nodes[i]!.manager;
  const current = m.current()?.record.epoch;
  return { epochs: m.store.all().map((e) => ({ record: e.record, signatures: e.signatures, status: e.status, key: e.key, active: e.record.epoch === current, vaultAddress: vaultAddress(e.key) })) };
}

/** Every committee member signs `record` with its identity key. */
function signAll(record: EpochRecord) {
  return Promise.all(record.committee.map((m) => signRecord(record, m.peerId, h.node(m.peerId).ports.sign)));
}

before(async () => {
  h = await Harness.create(3);
  const out = await keygenAll(h, 1);
  for (const n of h.nodes) assert.ok(out.get(n.peerId)!.ok, 'keygen succeeded on every node');
  for (let i = 0; i < 3; i++) {
    bodies.push(bodyOf(i));
    const n = fakeNode();
    n.epochs = () => bodies[i]!;
    const s = createApiServer({ api: n, port: 0 });
    servers.push(s);
    urls.push((await s.listen()).url);
  }
  good = clone(bodies[0]!.epochs[0]!);
  const dead = createApiServer({ api: fakeNode(), port: 0 });
  deadUrl = (await dead.listen()).url;
  await dead.close();
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Runs verify-epoch with node 2 serving `third` (the others serve the good record). */
async function withThird(third: EpochEntry | EpochsResponse, opts: { epoch?: number } = {}): Promise<VerifyEpochResult> {
  bodies[0] = { epochs: [clone(good)] };
  bodies[1] = { epochs: [clone(good)] };
  bodies[2] = 'epochs' in third ? third : { epochs: [third] };
  return verifyEpochCommand({ from: urls, timeoutMs: 3000, ...opts });
}

test('the served body is the schema the CLI validates, and the node view is what the node computes', () => {
  assert.ok(EpochsViewResponseSchema.safeParse(clone(bodies[0])).success);
  assert.ok(EpochsResponseSchema.safeParse(clone(bodies[0])).success, 'the attestation checker accepts the extra fields');
  assert.equal(good.record.committee.length, 3);
  assert.equal(good.signatures.length, 3);
  assert.equal(good.active, true);
  assert.equal(good.vaultAddress, good.record.vaultAddress);
  assert.equal(epochKeyHash(good.key), good.record.keyHash);
});

test('all nodes serve the same fully signed record and key: agreed', async () => {
  const r = await withThird(clone(good));
  assert.equal(r.agreed, true);
  assert.equal(r.epoch, 1);
  assert.equal(r.answered, 3);
  assert.equal(r.recordHash, recordHash(good.record));
  assert.equal(r.vaultAddress, good.record.vaultAddress);
  assert.equal(r.outputKey, good.record.outputKey);
  assert.deepEqual([r.threshold, r.committeeSize], [good.record.threshold, 3]);
  for (const s of r.sources) {
    assert.deepEqual(
      { ok: s.ok, validSigners: s.validSigners, missing: s.missingSigners, invalid: s.invalidSigners, outsiders: s.outsiders, differs: s.differs, problems: s.problems, status: s.status },
      { ok: true, validSigners: 3, missing: [], invalid: [], outsiders: [], differs: [], problems: [], status: 'adopted' },
    );
  }
  const text = renderVerifyEpoch(r, (d, v) => render(d, { view: v }));
  assert.match(text, /^epoch 1: all 3 sources serve the same record, signed by all 3 committee members$/m);
  assert.match(text, new RegExp(`^vault: +${good.record.vaultAddress}$`, 'm'));
  // The attestation checker of src/epochs agrees on the same servers.
  const att = await verifyEpochFromUrls(urls, { timeoutMs: 3000 });
  assert.equal(att.allAgree && att.allSignaturesValid, true);
});

test('a node serving a forged signature is named with the member whose signature fails', async () => {
  const forged = clone(good);
  const victim = forged.signatures[1]!.peerId;
  const sig = forged.signatures[1]!.signature;
  forged.signatures[1]!.signature = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
  const r = await withThird(forged);
  assert.equal(r.agreed, false);
  assert.deepEqual(r.sources.map((s) => s.ok), [true, true, false]);
  const bad = r.sources[2]!;
  assert.deepEqual(bad.invalidSigners, [victim]);
  assert.deepEqual(bad.missingSigners, [victim]);
  assert.deepEqual(bad.differs, [], 'same record: only the signature is wrong');
  assert.equal(bad.validSigners, 2);
  assert.match(renderVerifyEpoch(r, (d, v) => render(d, { view: v })), new RegExp(`invalid signatures: ${victim}`));
});

test('a node missing one committee signature is named with the missing signer; a non-member signature is named too', async () => {
  const partial = clone(good);
  const [dropped] = partial.signatures.splice(2, 1);
  const r = await withThird(partial);
  assert.equal(r.agreed, false);
  assert.deepEqual(r.sources[2]!.missingSigners, [dropped!.peerId]);
  assert.deepEqual(r.sources[2]!.invalidSigners, []);
  assert.equal(r.sources[2]!.ok, false);

  const outsider = await h.addNode();
  const extra = clone(good);
  extra.signatures.push(await signRecord(extra.record, outsider.peerId, outsider.ports.sign));
  const r2 = await withThird(extra);
  assert.equal(r2.agreed, false);
  assert.deepEqual(r2.sources[2]!.outsiders, [outsider.peerId]);
  assert.deepEqual(r2.sources[2]!.missingSigners, []);
  h.nodes.pop();
});

test('a node serving a different (fully signed) record is named with the fields that differ', async () => {
  const other = clone(good);
  other.record.transcriptHash = '55'.repeat(32);
  other.signatures = await signAll(other.record);
  const r = await withThird(other);
  assert.equal(r.agreed, false);
  assert.equal(r.recordHash, recordHash(good.record), 'the majority record is the reference');
  assert.deepEqual(r.sources.map((s) => s.differs), [[], [], ['record.transcriptHash']]);
  assert.deepEqual(r.sources[2]!.missingSigners, [], 'its signatures are valid: only agreement fails');
  assert.notEqual(r.sources[2]!.recordHash, r.sources[0]!.recordHash);
  assert.match(renderVerifyEpoch(r, (d, v) => render(d, { view: v })), /differs: record\.transcriptHash/);
});

test('a key inconsistent with the record: the node is named with the key fields and the key check', async () => {
  const bent = clone(good);
  const id = Object.keys(bent.key.verifyingShares)[0]!;
  bent.key.verifyingShares[id] = bent.key.verifyingShares[Object.keys(bent.key.verifyingShares)[1]!]!;
  const r = await withThird(bent);
  assert.equal(r.agreed, false);
  assert.deepEqual(r.sources[2]!.differs, ['key.verifyingShares']);
  assert.deepEqual(r.sources[2]!.problems, ['key vs record: key hash does not match the record keyHash']);
  assert.deepEqual(r.sources[2]!.missingSigners, []);

  // Every node serves the same bent key under a record that commits to it and that every member
  // signed: nodes agree, signatures hold, and the key check still refuses it.
  const committed = clone(bent);
  committed.record.keyHash = epochKeyHash(committed.key);
  committed.signatures = await signAll(committed.record);
  bodies[0] = bodies[1] = bodies[2] = { epochs: [committed] };
  const all = await verifyEpochCommand({ from: urls, timeoutMs: 3000 });
  assert.equal(all.agreed, false);
  for (const s of all.sources) {
    assert.deepEqual([s.differs, s.missingSigners, s.invalidSigners], [[], [], []]);
    assert.deepEqual(s.problems, ['key vs record: verifying shares do not lie on the key commitments']);
  }
});

test('an unreachable node is reported, not fatal; none answering is NODE_UNREACHABLE; malformed answers are named', async () => {
  bodies[0] = { epochs: [clone(good)] };
  const partial = await verifyEpochCommand({ from: [urls[0]!, deadUrl], timeoutMs: 2000 });
  assert.equal(partial.agreed, false);
  assert.equal(partial.answered, 1);
  assert.equal(partial.sources[0]!.ok, true);
  assert.equal(partial.sources[1]!.ok, false);
  assert.match(partial.sources[1]!.error!, /cannot reach the node API/);
  assert.match(renderVerifyEpoch(partial, (d, v) => render(d, { view: v })), /NOT AGREED \(1 of 2 sources answered/);
  await assert.rejects(verifyEpochCommand({ from: [deadUrl], timeoutMs: 2000 }), (e: unknown) => isMetanodeError(e, 'NODE_UNREACHABLE') && /no source answered/.test(e.message));
  await assert.rejects(verifyEpochCommand({ from: [] }), UsageError);
  await assert.rejects(verifyEpochCommand({ from: urls, epoch: 0 }), UsageError);

  // A node still serving the old shape (a bare array of keys) is named, not trusted.
  bodies[1] = { epochs: [clone(good)] };
  bodies[2] = [good.key] as unknown as EpochsResponse;
  const old = await verifyEpochCommand({ from: urls, timeoutMs: 3000 });
  assert.equal(old.agreed, false);
  assert.equal(old.sources[2]!.error, `NODE_ERROR: ${urls[2]} served a malformed /v1/epochs response: (body): Invalid input: expected object, received array`);
  assert.deepEqual(old.sources.slice(0, 2).map((s) => s.ok), [true, true]);
});

test('--epoch picks another epoch; a node without it is named', async () => {
  const r = await withThird({ epochs: [] }, { epoch: 1 });
  assert.equal(r.epoch, 1);
  assert.equal(r.agreed, false);
  assert.equal(r.sources[2]!.error, 'has no epoch 1');
  const none = await verifyEpochCommand({ from: urls.slice(0, 2), epoch: 7, timeoutMs: 3000 });
  assert.equal(none.agreed, false);
  assert.deepEqual(none.sources.map((s) => s.error), ['has no epoch 7', 'has no epoch 7']);
  assert.equal(none.recordHash, null);
});

test('epochs: the table from the new shape', async () => {
  bodies[0] = { epochs: [clone(good)] };
  const rows = await epochsCommand(createApiClient(urls[0]!, { timeoutMs: 3000 }));
  assert.deepEqual(rows, [good]);
  const text = render(rows, { view: epochsView });
  const lines = text.split('\n');
  assert.match(lines[0]!, /^EPOCH\s+KIND\s+STATUS\s+ACTIVE\s+THRESHOLD\s+SIGS\s+VAULT$/);
  assert.match(lines[2]!, new RegExp(`^\\s*1\\s+keygen\\s+adopted\\s+\\*\\s+${good.record.threshold}/3\\s+3/3\\s+${good.vaultAddress}$`));
  bodies[0] = { epochs: [] };
  assert.equal(render(await epochsCommand(createApiClient(urls[0]!, { timeoutMs: 3000 })), { view: epochsView }), '(no key epochs yet)');
});

test('selfCheck: Taproot tweak, vault address, threshold, identifiers, shares', () => {
  const key: EpochKey = clone(good.key);
  assert.deepEqual(selfCheck(key, good.vaultAddress), []);
  const problems = selfCheck({ ...key, outputKey: key.internalKey }, good.vaultAddress);
  assert.ok(problems.includes('output key is not the Taproot tweak of the internal key'));
  assert.ok(problems.some((p) => /vault address .* does not belong/.test(p)));
  assert.deepEqual(selfCheck({ ...key, threshold: 4 }, good.vaultAddress), ['threshold 4 is not within 1..3']);
  const m0 = key.committee[0]!;
  assert.equal(m0.identifier, identifierAt(0));
  assert.deepEqual(selfCheck({ ...key, committee: [{ peerId: m0.peerId, identifier: '11'.repeat(32) }, ...key.committee.slice(1)] }, good.vaultAddress), [
    `identifier of ${m0.peerId} is not its committee position 1`,
    'verifying shares do not match the committee',
  ]);
});
