import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { signRecord, verifyAttestation, verifyEpochRecords, verifyEpochFromUrls, type SourceRecords } from '../../src/epochs/attest.js';
import { equivocationEvidence, verifyViolation } from '../../src/epochs/evidence.js';
import { recordBytes, type EpochRecord, type SignedEpochRecord } from '../../src/epochs/record.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import { computeRegroupCommittee, computeCommittee } from '../../src/rounds/committee.js';

async function identity() {
  const key = await generateKeyPair('Ed25519');
  const peerId = peerIdFromPrivateKey(key as unknown as Parameters<typeof peerIdFromPrivateKey>[0]).toString();
  return { peerId, sign: (b: Uint8Array) => key.sign(b) };
}

const ids = await Promise.all([identity(), identity(), identity()]);
const record: EpochRecord = {
  version: 1, kind: 'keygen', network: 'regtest', epoch: 1, attempt: { startedAt: 0, id: '0a'.repeat(32) }, previousEpoch: null,
  outputKey: '11'.repeat(32), internalKey: '22'.repeat(32), vaultAddress: 'bcrt1p' + 'q'.repeat(58),
  committee: membersInOrder(ids.map((i) => i.peerId)), threshold: 2,
  transcriptHash: '33'.repeat(32), keyHash: '44'.repeat(32), testSignature: null,
};
const signed = async (r: EpochRecord): Promise<SignedEpochRecord> => ({ record: r, signatures: await Promise.all(ids.map((i) => signRecord(r, i.peerId, i.sign))), status: 'adopted' });

test('attestation sign/verify with Ed25519 identity keys; tampering and wrong signer fail', async () => {
  const a = await signRecord(record, ids[0].peerId, ids[0].sign);
  assert.equal(await verifyAttestation(record, a), true);
  assert.equal(await verifyAttestation({ ...record, threshold: 3 }, a), false);
  assert.equal(await verifyAttestation(record, { ...a, peerId: ids[1].peerId }), false);
  assert.equal(await verifyAttestation(record, { peerId: 'not-a-peer-id', signature: a.signature }), false);
  // canonical bytes do not depend on key order
  const reordered = Object.fromEntries(Object.entries(record).reverse()) as EpochRecord;
  assert.deepEqual(recordBytes(reordered), recordBytes(record));
});

test('verifyEpochRecords: agreement, disagreement and a bad signature', async () => {
  const good = await signed(record);
  const agree = await verifyEpochRecords([{ source: 'n1', epochs: [good] }, { source: 'n2', epochs: [good] }]);
  assert.equal(agree.allSignaturesValid, true);
  assert.equal(agree.allAgree, true);

  const other = await signed({ ...record, vaultAddress: 'bcrt1p' + 'z'.repeat(58) });
  const dis = await verifyEpochRecords([{ source: 'n1', epochs: [good] }, { source: 'n2', epochs: [other] }]);
  assert.equal(dis.allAgree, false);
  assert.equal(dis.allSignaturesValid, true);
  assert.equal(dis.details.epochs[0].agree, false);

  const forged: SignedEpochRecord = { ...good, signatures: good.signatures.map((s, i) => (i === 2 ? { ...s, signature: good.signatures[0].signature } : s)) };
  const bad = await verifyEpochRecords([{ source: 'n1', epochs: [forged] }]);
  assert.equal(bad.allSignaturesValid, false);
  assert.deepEqual(bad.details.epochs[0].checks[0].invalid, [ids[2].peerId]);

  const missing = await verifyEpochRecords([{ source: 'n1', epochs: [good] }, { source: 'n2', epochs: [] }]);
  assert.equal(missing.allAgree, false, 'a node without the epoch disagrees');
});

test('verifyEpochFromUrls fetches /v1/epochs from several nodes and compares', async () => {
  const good = await signed(record);
  const other = await signed({ ...record, transcriptHash: '55'.repeat(32) });
  const bodies = [JSON.stringify({ epochs: [good] }), JSON.stringify({ epochs: [good] }), JSON.stringify({ epochs: [other] })];
  const servers = await Promise.all(
    bodies.map(
      (b) =>
        new Promise<{ url: string; close: () => void }>((resolve) => {
          const s = createServer((req, res) => {
            if (req.url === '/v1/epochs') res.writeHead(200, { 'content-type': 'application/json' }).end(b);
            else res.writeHead(404).end();
          });
          s.listen(0, '127.0.0.1', () => {
            const port = (s.address() as { port: number }).port;
            resolve({ url: `http://127.0.0.1:${port}`, close: () => s.close() });
          });
        }),
    ),
  );
  after(() => servers.forEach((s) => s.close()));
  const ok = await verifyEpochFromUrls([servers[0].url, servers[1].url], { timeoutMs: 3000 });
  assert.equal(ok.allAgree && ok.allSignaturesValid, true);
  const dis = await verifyEpochFromUrls(servers.map((s) => s.url), { timeoutMs: 3000 });
  assert.equal(dis.allAgree, false);
  const down = await verifyEpochFromUrls([servers[0].url, 'http://127.0.0.1:1'], { timeoutMs: 2000 });
  assert.equal(down.allAgree, false);
  assert.ok(down.details.sources[1].error);
});

test('equivocation evidence: verifiable by anyone and only then prunes from the regroup committee', async () => {
  const a = await signRecord(record, ids[1].peerId, ids[1].sign);
  const other = { ...record, transcriptHash: '66'.repeat(32) };
  const b = await signRecord(other, ids[1].peerId, ids[1].sign);
  const v = await verifyViolation(equivocationEvidence(ids[1].peerId, { record, attestation: a }, { record: other, attestation: b }));
  assert.ok(v.ok);
  // Same record twice, or a forged signature, proves nothing.
  assert.equal((await verifyViolation(equivocationEvidence(ids[1].peerId, { record, attestation: a }, { record, attestation: a }))).ok, false);
  const forged = { ...b, signature: a.signature };
  assert.equal((await verifyViolation(equivocationEvidence(ids[1].peerId, { record, attestation: a }, { record: other, attestation: forged }))).ok, false);

  const peers = ids.map((i, k) => ({ peerId: i.peerId, stakeHeight: 10 + k, stakeTxid: (k + 1).toString(16).padStart(64, '0'), lastSeenMs: 0 }));
  const old = computeCommittee(peers, { max: 3 }).committee;
  const r = computeRegroupCommittee({ peers, oldCommittee: old, now: 0, offlineAfterMs: 1000, violations: [v.violation], cfg: { max: 3 } });
  assert.deepEqual(r.pruned, [{ peerId: ids[1].peerId, reason: 'violation' }]);
});
