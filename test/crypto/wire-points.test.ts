// The uncompressed wire form of bulk-parsed points (DKG commitments and proof nonces, reshare
// dealings, nonce commitments): what is accepted, what is refused and who is blamed for it, and
// that the compressed encoding derived for hashing is noble's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { dkgRound2, dkgStart } from '../../src/crypto/dkg.js';
import { compressedOfWire, tryWirePoint } from '../../src/crypto/internal.js';
import { reshareDeal, reshareReceive } from '../../src/crypto/reshare.js';
import { aggregateSignatures, signingCommit, signShares, type NonceCommitment } from '../../src/crypto/signing.js';
import { assertMetanodeError, committeeOf, dealtKey, randomMessage } from './helpers.js';

const Point = secp256k1.Point;
const P = Point.CURVE().p;
const hex32 = (n: bigint) => n.toString(16).padStart(64, '0');

function randomPoint() {
  return Point.BASE.multiply(1n + (BigInt('0x' + randomMessage()) % (Point.Fn.ORDER - 1n)));
}

/** Same x, y + 1: a 65-byte, well-formed encoding of a point that is not on the curve. */
function offCurve(wire: string): string {
  const y = BigInt('0x' + wire.slice(66));
  return wire.slice(0, 66) + hex32((y + 1n) % P);
}

describe('wire points (internal.ts)', () => {
  it('accepts uncompressed points and derives noble\'s compressed encoding, both parities', () => {
    const parities = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const p = randomPoint();
      const wire = bytesToHex(p.toBytes(false));
      assert.ok(tryWirePoint(wire)!.equals(p));
      const comp = compressedOfWire(wire);
      assert.equal(comp, bytesToHex(p.toBytes(true)));
      parities.add(comp.slice(0, 2));
    }
    assert.deepEqual([...parities].sort(), ['02', '03']);
  });

  it('refuses off-curve, out-of-range, identity, compressed, hybrid and non-canonical hex', () => {
    const p = randomPoint();
    const wire = bytesToHex(p.toBytes(false));
    assert.equal(tryWirePoint(offCurve(wire)), null);
    assert.equal(tryWirePoint('04' + hex32(P) + wire.slice(66)), null); // x = p
    assert.equal(tryWirePoint('04' + wire.slice(2, 66) + hex32(P)), null); // y = p
    assert.equal(tryWirePoint('04' + '00'.repeat(64)), null); // (0, 0): noble's identity
    assert.equal(tryWirePoint(bytesToHex(p.toBytes(true))), null); // a valid point, but compressed
    assert.equal(tryWirePoint('06' + wire.slice(2)), null); // SEC1 hybrid prefix
    assert.equal(tryWirePoint(wire.toUpperCase()), null);
    assert.equal(tryWirePoint(wire.slice(0, 128)), null);
  });
});

describe('a bad wire point names its sender', () => {
  it('DKG round 1: off-curve or compressed commitment point -> INVALID_COMMITMENT for that member', () => {
    const committee = committeeOf(4);
    const started = committee.map((m) => dkgStart({ self: m.identifier, committee, threshold: 3, epoch: 1, network: 'regtest' }));
    const round1 = started.map((s) => s.round1);
    assert.ok(round1.every((p) => p.commitment.every((c) => /^04[0-9a-f]{128}$/.test(c)) && p.proofOfKnowledge.length === 194));
    for (const bad of [offCurve(round1[1].commitment[1]), bytesToHex(Point.fromHex(round1[1].commitment[1]).toBytes(true))]) {
      const list = round1.map((p, i) => (i === 1 ? { ...p, commitment: [p.commitment[0], bad, p.commitment[2]] } : p));
      const e = assertMetanodeError(() => dkgRound2(started[0].session, list), 'INVALID_COMMITMENT', [committee[1].identifier]);
      assert.match(e.message, /uncompressed/);
      assert.deepEqual(e.detail?.peerIds, [committee[1].peerId]);
    }
    // proof nonce R: off the curve, or the odd-y point with the same x (noble's R has even y)
    const pok = round1[2].proofOfKnowledge;
    const negR = bytesToHex(Point.fromHex(pok.slice(0, 130)).negate().toBytes(false));
    for (const bad of [offCurve(pok.slice(0, 130)) + pok.slice(130), negR + pok.slice(130)]) {
      const list = round1.map((p, i) => (i === 2 ? { ...p, proofOfKnowledge: bad } : p));
      assertMetanodeError(() => dkgRound2(started[0].session, list), 'INVALID_PROOF_OF_KNOWLEDGE', [committee[2].identifier]);
    }
    // the untouched list still goes through
    assert.equal(dkgRound2(started[0].session, round1).length, 3);
  });

  it('reshare: off-curve dealing point -> INVALID_COMMITMENT for that dealer', () => {
    const { key, shares, committee } = dealtKey(5, 3);
    const dealers = committee.slice(0, 3).map((m) => m.identifier);
    const out = shares.slice(0, 3).map((share) => reshareDeal({ share, oldKey: key, dealers, newCommittee: committee, newThreshold: 3, newEpoch: 2 }));
    const me = committee[4].identifier;
    const dealings = out.map((o, i) => (i === 1 ? { ...o.dealing, commitment: [o.dealing.commitment[0], offCurve(o.dealing.commitment[1]), o.dealing.commitment[2]] } : o.dealing));
    const subShares = out.map((o) => o.subShares.find((s) => s.to === me)!);
    const e = assertMetanodeError(
      () => reshareReceive({ self: me, oldKey: key, dealers, dealings, subShares, newCommittee: committee, newThreshold: 3, newEpoch: 2 }),
      'INVALID_COMMITMENT',
      [dealers[1]],
    );
    assert.match(e.message, /uncompressed/);
  });

  it('signing: off-curve nonce commitment -> INVALID_NONCE_COMMITMENT for that signer, in signing and in aggregation', () => {
    const { key, shares } = dealtKey(4, 3);
    const signers = shares.slice(0, 3);
    const targets = [{ message: randomMessage() }];
    const commits = signers.map((s) => signingCommit(s, key, 1));
    const lists: Record<string, NonceCommitment[]> = {};
    signers.forEach((s, i) => (lists[s.identifier] = commits[i].commitments));
    assert.ok(Object.values(lists).every((l) => /^04[0-9a-f]{128}$/.test(l[0].hiding) && /^04[0-9a-f]{128}$/.test(l[0].binding)));
    const victim = signers[2].identifier;
    const bad = { ...lists, [victim]: [{ ...lists[victim][0], hiding: offCurve(lists[victim][0].hiding) }] };
    const e = assertMetanodeError(() => signShares(signers[0], key, commits[0].nonces, bad, targets), 'INVALID_NONCE_COMMITMENT', [victim]);
    assert.match(e.message, /uncompressed/);
    assert.equal(commits[0].nonces.used, false);
    const sh: Record<string, string[]> = {};
    signers.forEach((s, i) => (sh[s.identifier] = signShares(s, key, commits[i].nonces, lists, targets)));
    assertMetanodeError(() => aggregateSignatures(key, bad, targets, sh), 'INVALID_NONCE_COMMITMENT', [victim]);
    assert.equal(aggregateSignatures(key, lists, targets, sh).length, 1);
  });
});
