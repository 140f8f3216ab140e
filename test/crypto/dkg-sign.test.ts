import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr, schnorr_FROST } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import * as bitcoin from 'bitcoinjs-lib';
import { ensureBitcoinjsEcc } from '../../src/crypto/bitcoinjs-ecc.js';
import { dkgTranscriptHash } from '../../src/crypto/dkg.js';
import { defaultThreshold, identifierAt, identifierOf, membersInOrder, normalizeCommittee } from '../../src/crypto/identifiers.js';
import { aggregateSignatures, createShareVerifier, signingCommit, signShares, verifySignatureShares, type NonceCommitment } from '../../src/crypto/signing.js';
import { depositTweak } from '../../src/crypto/taproot.js';
import { assertMetanodeError, dkgRound1And2, pick, randomMessage, runDkg, signWith } from './helpers.js';

describe('identifiers', () => {
  it('identifiers are committee positions 1..n (noble Identifier.fromNumber) and the 2f+1 threshold', () => {
    assert.equal(identifierAt(0), '00'.repeat(31) + '01');
    assert.equal(identifierAt(99), '00'.repeat(31) + '64');
    assert.equal(identifierAt(3), schnorr_FROST.Identifier.fromNumber(4));
    const c = membersInOrder(['a', 'b', 'c']);
    assert.deepEqual(c.map((m) => m.identifier), [identifierAt(0), identifierAt(1), identifierAt(2)]);
    assert.equal(identifierOf(c, 'b'), identifierAt(1));
    assert.equal(identifierOf(c, 'z'), undefined);
    // peer ids given as strings get their position, in the order given
    assert.deepEqual(normalizeCommittee(['c', 'a']), [{ peerId: 'c', identifier: identifierAt(0) }, { peerId: 'a', identifier: identifierAt(1) }]);
    assert.throws(() => identifierAt(-1), /INVALID_INPUT/);
    assert.throws(() => membersInOrder(['a', '']), /INVALID_INPUT/);
    assert.deepEqual([1, 2, 3, 4, 5, 7, 10, 100].map(defaultThreshold), [1, 2, 3, 3, 4, 5, 7, 67]);
  });
});

for (const [n, t] of [
  [3, 2],
  [5, 4],
  [7, 5],
] as const) {
  describe(`DKG and signing (n=${n}, t=${t})`, () => {
    const { keys, shares } = runDkg(n, t);
    const key = keys[0];

    it('every member derives the same epoch key; Q is the BIP86 tweak of P', () => {
      for (const k of keys) assert.deepEqual(k, key);
      assert.equal(key.threshold, t);
      assert.equal(Object.keys(key.verifyingShares).length, n);
      ensureBitcoinjsEcc();
      const p2tr = bitcoin.payments.p2tr({ internalPubkey: hexToBytes(key.internalKey) });
      assert.equal(Buffer.from(p2tr.pubkey!).toString('hex'), key.outputKey);
    });

    it('any t members sign; the signature passes BIP340 verify under Q', () => {
      for (let rep = 0; rep < 3; rep++) {
        const signers = pick(shares, t);
        const msgs = [randomMessage(), randomMessage()];
        const sigs = signWith(key, signers, msgs.map((message) => ({ message })));
        sigs.forEach((sig, i) => assert.ok(schnorr.verify(hexToBytes(sig), hexToBytes(msgs[i]), hexToBytes(key.outputKey))));
        // and not under another message
        assert.equal(schnorr.verify(hexToBytes(sigs[0]), hexToBytes(msgs[1]), hexToBytes(key.outputKey)), false);
      }
    });

    it('t-1 members cannot produce a valid signature', () => {
      const signers = pick(shares, t - 1);
      const message = randomMessage();
      // The wrapper refuses fewer than t signers outright...
      assertMetanodeError(() => signWith(key, signers, [{ message }]), 'INVALID_COMMITMENT_LIST');
      // ...and the raw math of t-1 shares (treating them as if they were a full set) fails BIP340.
      const commits = signers.map((s) => signingCommit(s, key, 1));
      const lists: Record<string, NonceCommitment[]> = {};
      signers.forEach((s, i) => (lists[s.identifier] = commits[i].commitments));
      // noble needs at least 2 signers; for t=2 the single share is paired with nothing else to show.
      if (t - 1 >= 2) {
        const fakeKey = { ...key, threshold: t - 1 };
        const sh: Record<string, string[]> = {};
        signers.forEach((s, i) => (sh[s.identifier] = signShares(s, fakeKey, commits[i].nonces, lists, [{ message }])));
        // each share is consistent with its own verifying share, yet together they do not sign
        for (const s of signers) assert.ok(verifySignatureShares(fakeKey, lists, [{ message }], s.identifier, sh[s.identifier]));
        assertMetanodeError(() => aggregateSignatures(fakeKey, lists, [{ message }], sh), 'INVALID_SIGNATURE');
      }
    });
  });
}

describe('signing session rules', () => {
  const { key, shares } = runDkg(3, 2);
  const targets = [{ message: randomMessage() }];

  it('nonces are single-use: a second signShares throws NONCE_REUSE', () => {
    const [a, b] = shares;
    const ca = signingCommit(a, key, 1);
    const cb = signingCommit(b, key, 1);
    const lists = { [a.identifier]: ca.commitments, [b.identifier]: cb.commitments };
    signShares(a, key, ca.nonces, lists, targets);
    assertMetanodeError(() => signShares(a, key, ca.nonces, lists, [{ message: randomMessage() }]), 'NONCE_REUSE', [a.identifier]);
    // only public fields serialize; the nonce scalars are private
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(ca.nonces))).sort(), ['commitments', 'epoch', 'identifier', 'used']);
  });

  it('an invalid signature share names its sender', () => {
    const [a, b, c] = shares;
    const cs = [a, b, c].map((s) => signingCommit(s, key, 2));
    const lists: Record<string, NonceCommitment[]> = {};
    [a, b, c].forEach((s, i) => (lists[s.identifier] = cs[i].commitments));
    const tg = [{ message: randomMessage() }, { message: randomMessage() }];
    const sh: Record<string, string[]> = {};
    [a, b, c].forEach((s, i) => (sh[s.identifier] = signShares(s, key, cs[i].nonces, lists, tg)));
    assert.ok(verifySignatureShares(key, lists, tg, b.identifier, sh[b.identifier]));
    const bad = { ...sh, [b.identifier]: [sh[b.identifier][0], sh[c.identifier][1]] };
    assert.equal(verifySignatureShares(key, lists, tg, b.identifier, bad[b.identifier]), false);
    assertMetanodeError(() => aggregateSignatures(key, lists, tg, bad), 'INVALID_SIGNATURE_SHARE', [b.identifier]);
    const sigs = aggregateSignatures(key, lists, tg, sh);
    assert.equal(sigs.length, 2);
  });

  it('the batched share check accepts every honest share (both R parities, vault and deposit) and rejects tampered ones', () => {
    const signers = shares.slice(0, 2);
    const tg = Array.from({ length: 12 }, (_, i) => ({ message: randomMessage(), tweak: i % 2 ? depositTweak(key, 'r' + i) : undefined }));
    const cs = signers.map((s) => signingCommit(s, key, tg.length));
    const lists: Record<string, NonceCommitment[]> = {};
    signers.forEach((s, i) => (lists[s.identifier] = cs[i].commitments));
    const sh: Record<string, string[]> = {};
    signers.forEach((s, i) => (sh[s.identifier] = signShares(s, key, cs[i].nonces, lists, tg)));
    const verify = createShareVerifier(key, lists, tg);
    for (const s of signers) assert.ok(verify(s.identifier, sh[s.identifier]));
    assert.equal(verify(signers[0].identifier, sh[signers[1].identifier]), false);
    const flipped = [...sh[signers[0].identifier]];
    flipped[5] = (BigInt('0x' + flipped[5]) ^ 4n).toString(16).padStart(64, '0');
    assert.equal(verify(signers[0].identifier, flipped), false);
    assert.equal(verify(signers[0].identifier, sh[signers[0].identifier].slice(1)), false);
    // One signer's shares are checked across all messages in one weighted sum: swapping two of
    // its own valid-looking shares between messages, or a single bad one among many, fails it.
    const swapped = [...sh[signers[0].identifier]];
    [swapped[2], swapped[9]] = [swapped[9], swapped[2]];
    assert.equal(createShareVerifier(key, lists, tg)(signers[0].identifier, swapped), false);
    const lastBad = [...sh[signers[1].identifier]];
    lastBad[11] = (BigInt('0x' + lastBad[11]) ^ 1n).toString(16).padStart(64, '0');
    assert.equal(createShareVerifier(key, lists, tg)(signers[1].identifier, lastBad), false);
    assertMetanodeError(() => aggregateSignatures(key, lists, tg, { ...sh, [signers[0].identifier]: flipped }), 'INVALID_SIGNATURE_SHARE', [signers[0].identifier]);
    assert.equal(aggregateSignatures(key, lists, tg, sh).length, tg.length);
  });

  it('commitment lists are validated: duplicates, invalid points, missing and unknown signers', () => {
    const [a, b] = shares;
    const ca = signingCommit(a, key, 1);
    const cb = signingCommit(b, key, 1);
    const outsider = identifierAt(99);
    assertMetanodeError(
      () => signShares(a, key, ca.nonces, { [a.identifier]: ca.commitments, [outsider]: cb.commitments }, targets),
      'UNKNOWN_PARTICIPANT',
      [outsider],
    );
    const badPoint = [{ ...cb.commitments[0], binding: '02' + 'ff'.repeat(32) }];
    assertMetanodeError(
      () => signShares(a, key, ca.nonces, { [a.identifier]: ca.commitments, [b.identifier]: badPoint }, targets),
      'INVALID_NONCE_COMMITMENT',
      [b.identifier],
    );
    const stolen = [{ ...ca.commitments[0], identifier: b.identifier }];
    assertMetanodeError(
      () => signShares(a, key, ca.nonces, { [a.identifier]: ca.commitments, [b.identifier]: [stolen[0], stolen[0]] }, targets),
      'INVALID_COMMITMENT_LIST',
      [b.identifier],
    );
    // nothing above consumed the nonces: validation runs before any share is made
    assert.equal(ca.nonces.used, false);
  });

  it('transcript hash is order-independent and changes with content', () => {
    const run = dkgRound1And2(3, 2);
    const h = dkgTranscriptHash(run.round1);
    assert.equal(dkgTranscriptHash([...run.round1].reverse()), h);
    const changed = [{ ...run.round1[0], proofOfKnowledge: run.round1[1].proofOfKnowledge }, ...run.round1.slice(1)];
    assert.notEqual(dkgTranscriptHash(changed), h);
  });
});
