// Differential tests: signShares / verifySignatureShares / aggregateSignatures (signing.ts, the
// per-message math computed once on Point/Fn) against noble's schnorr_FROST.signShare,
// verifyShare and aggregate called the plain way, with the same nonces (noble's rng hook fed
// the same bytes): byte-identical shares and signatures, the same verdict on every tampered
// share, and aggregation naming exactly the signers noble's verifyShare rejects.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr_FROST, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { aggregateSignatures, prepareVerifyingShares, resetSigningCaches, signingCommit, signShares, verifySignatureShares, type NonceCommitment, type SigningTarget } from '../../src/crypto/signing.js';
import { depositTweak, tapTweakScalar } from '../../src/crypto/taproot.js';
import type { EpochKey, KeyShare } from '../../src/crypto/types.js';
import { assertMetanodeError, choose, compressedBytes, dealtKey, prng, randomMessage, seededRng } from './helpers.js';

const frost = schnorr_FROST;
const Point = secp256k1.Point;
const Fn = Point.Fn;

/** Tweak shift delta = t_d - t_0 for a target (0 for the vault key). */
function deltaOf(key: EpochKey, tweak?: string): bigint {
  return tweak ? Fn.sub(tapTweakScalar(key.internalKey, tweak), tapTweakScalar(key.internalKey, '')) : 0n;
}

const pubCache = new Map<string, ReturnType<typeof makeNoblePub>>();

/** The plain noble public package for a target: group key and verifying shares shifted by delta*G. */
function noblePub(key: EpochKey, tweak?: string) {
  const k = `${key.outputKey}/${key.epoch}/${tweak ?? ''}`;
  let p = pubCache.get(k);
  if (!p) pubCache.set(k, (p = makeNoblePub(key, tweak)));
  return p;
}

function makeNoblePub(key: EpochKey, tweak?: string) {
  const d = deltaOf(key, tweak);
  const shift = (hex: string) => (d === 0n ? hexToBytes(hex) : Point.fromHex(hex).add(Point.BASE.multiply(d)).toBytes(true));
  return {
    signers: { min: key.threshold, max: key.committee.length },
    commitments: [shift(key.commitments[0]), ...key.commitments.slice(1).map(hexToBytes)],
    verifyingShares: Object.fromEntries(Object.entries(key.verifyingShares).map(([id, v]) => [id, shift(v)])),
  };
}

const nobleSecret = (key: EpochKey, s: KeyShare, tweak?: string) => ({
  identifier: s.identifier,
  signingShare: Fn.toBytes(Fn.add(BigInt('0x' + s.signingShare), deltaOf(key, tweak))),
});

interface Session {
  lists: Record<string, NonceCommitment[]>;
  ours: Record<string, string[]>;
  noble: Record<string, string[]>;
  nobleLists: { identifier: string; hiding: Uint8Array; binding: Uint8Array }[][];
}

/** One session run both ways with the same nonces. */
function runBoth(key: EpochKey, signers: KeyShare[], targets: SigningTarget[], seed: string): Session {
  const commits = signers.map((s) => signingCommit(s, key, targets.length, seededRng(`${seed}/${s.identifier}`)));
  const lists: Record<string, NonceCommitment[]> = {};
  signers.forEach((s, i) => (lists[s.identifier] = commits[i].commitments));
  // noble: commit() with the same secret share and the same bytes gives the same nonces
  const nobleNonces = signers.map((s) => {
    const rng = seededRng(`${seed}/${s.identifier}`);
    return targets.map(() => frost.commit({ identifier: s.identifier, signingShare: hexToBytes(s.signingShare) }, rng));
  });
  signers.forEach((s, i) =>
    nobleNonces[i].forEach((nn, j) => {
      // same points; ours travel uncompressed, noble hashes its compressed form
      assert.equal(bytesToHex(nn.commitments.hiding), bytesToHex(compressedBytes(lists[s.identifier][j].hiding)));
      assert.equal(bytesToHex(nn.commitments.binding), bytesToHex(compressedBytes(lists[s.identifier][j].binding)));
      assert.match(lists[s.identifier][j].hiding, /^04[0-9a-f]{128}$/);
    }),
  );
  const nobleLists = targets.map((_, j) => nobleNonces.map((nn) => nn[j].commitments));
  const ours: Record<string, string[]> = {};
  signers.forEach((s, i) => (ours[s.identifier] = signShares(s, key, commits[i].nonces, lists, targets)));
  const noble: Record<string, string[]> = {};
  signers.forEach((s, i) => {
    noble[s.identifier] = targets.map((t, j) =>
      bytesToHex(frost.signShare(nobleSecret(key, s, t.tweak), noblePub(key, t.tweak), nobleNonces[i][j].nonces, nobleLists[j], hexToBytes(t.message))),
    );
  });
  return { lists, ours, noble, nobleLists };
}

const tamper = (hex: string, d: bigint) => bytesToHex(Fn.toBytes(Fn.create(BigInt('0x' + hex) + d)));

for (const [n, t, sessions, messages] of [
  [5, 3, 3, 4],
  [10, 7, 2, 4],
  [30, 20, 1, 2],
] as const) {
  describe(`signing fast path vs noble signShare/verifyShare/aggregate (n=${n}, t=${t})`, () => {
    // a trusted-dealer key in the DKG's output form (the DKG itself: differential-dkg.test.ts)
    const { key, shares } = dealtKey(n, t);
    const rand = prng(n * 1000 + t);

    it('byte-identical shares and signatures (vault and deposit tweaks, both R parities, t and t+ signers)', () => {
      for (let k = 0; k < sessions; k++) {
        const signers = choose(shares, Math.min(n, t + (k % 2)), rand);
        const targets: SigningTarget[] = Array.from({ length: messages }, (_, j) => ({ message: randomMessage(), tweak: j % 2 ? depositTweak(key, `req-${k}-${j}`) : undefined }));
        const s = runBoth(key, signers, targets, `sess-${n}-${k}`);
        assert.deepEqual(s.ours, s.noble);
        resetSigningCaches(); // aggregate cold, as a coordinator that did not sign
        const sigs = aggregateSignatures(key, s.lists, targets, s.ours);
        targets.forEach((tg, j) => {
          const byId = Object.fromEntries(signers.map((x) => [x.identifier, hexToBytes(s.noble[x.identifier][j])]));
          assert.equal(sigs[j], bytesToHex(frost.aggregate(noblePub(key, tg.tweak), s.nobleLists[j], hexToBytes(tg.message), byId)));
        });
      }
    });

    it('tampered shares: same verdict as noble verifyShare; aggregation names exactly those signers', () => {
      for (let k = 0; k < sessions; k++) {
        const signers = choose(shares, t, rand);
        const targets: SigningTarget[] = [{ message: randomMessage() }, { message: randomMessage(), tweak: depositTweak(key, `bad-${k}`) }];
        const s = runBoth(key, signers, targets, `bad-${n}-${k}`);
        const cheaters = choose(signers, 1 + (k % 3 === 2 && t > 3 ? 2 : k % 2), rand).map((x) => x.identifier);
        const bad: Record<string, string[]> = { ...s.ours };
        cheaters.forEach((id, j) => {
          // one cheater only spoils the deposit message; two cheaters cancel in the plain sum
          const d = cheaters.length === 2 ? (j === 0 ? 7n : -7n) : 1n + BigInt(j);
          bad[id] = j === 0 && cheaters.length !== 2 ? [s.ours[id][0], tamper(s.ours[id][1], d)] : s.ours[id].map((z) => tamper(z, d));
        });
        for (const x of signers) {
          const nobleOk = targets.every((tg, j) => frost.verifyShare(noblePub(key, tg.tweak), s.nobleLists[j], hexToBytes(tg.message), x.identifier, hexToBytes(bad[x.identifier][j])));
          resetSigningCaches();
          assert.equal(verifySignatureShares(key, s.lists, targets, x.identifier, bad[x.identifier]), nobleOk, `verdict for ${x.identifier}`);
          assert.equal(nobleOk, !cheaters.includes(x.identifier));
        }
        resetSigningCaches();
        assertMetanodeError(() => aggregateSignatures(key, s.lists, targets, bad), 'INVALID_SIGNATURE_SHARE', cheaters);
        // 'sum' mode (RFC 9591 5.3, as noble's aggregate): the same culprits, except that errors
        // which cancel in the sum go unnamed and still give valid signatures
        resetSigningCaches();
        if (cheaters.length === 2) {
          const sigs = aggregateSignatures(key, s.lists, targets, bad, { shareCheck: 'sum' });
          targets.forEach((tg, j) => assert.ok(frost.verify(hexToBytes(sigs[j]), hexToBytes(tg.message), noblePub(key, tg.tweak).commitments[0])));
        } else assertMetanodeError(() => aggregateSignatures(key, s.lists, targets, bad, { shareCheck: 'sum' }), 'INVALID_SIGNATURE_SHARE', cheaters);
        // warm caches (shares checked one by one first) give the same culprits
        for (const x of signers) verifySignatureShares(key, s.lists, targets, x.identifier, bad[x.identifier]);
        assertMetanodeError(() => aggregateSignatures(key, s.lists, targets, bad), 'INVALID_SIGNATURE_SHARE', cheaters);
        assert.deepEqual(aggregateSignatures(key, s.lists, targets, s.ours, { shareCheck: 'sum' }), aggregateSignatures(key, s.lists, targets, s.ours));
      }
    });
  });
}

describe("aggregateSignatures 'each': every path (one-shot, kept nonce tables, kept verifying-share tables, many messages) agrees with noble", () => {
  // t >= 8 signers, so a cold aggregation keeps the nonce tables it builds for R (signing.ts)
  const { key, shares } = dealtKey(12, 9);
  const rand = prng(4242);
  type Path = 'cold' | 'warm key' | 'coordinator signed';
  const paths: Path[] = ['coordinator signed', 'warm key', 'cold'];

  const verdicts = new Map<string, boolean>();
  /** Who noble's verifyShare rejects in any message, in signer order (verdicts memoized per share). */
  function nobleCulprits(s: Session, signers: KeyShare[], targets: SigningTarget[], bad: Record<string, string[]>): string[] {
    const holds = (id: string, j: number) => {
      const k = `${targets[j].message}/${id}/${bad[id][j]}`;
      let v = verdicts.get(k);
      if (v === undefined) verdicts.set(k, (v = frost.verifyShare(noblePub(key, targets[j].tweak), s.nobleLists[j], hexToBytes(targets[j].message), id, hexToBytes(bad[id][j]))));
      return v;
    };
    return signers.filter((x) => !targets.every((_, j) => holds(x.identifier, j))).map((x) => x.identifier);
  }

  function aggregateOn(path: Path, s: Session, targets: SigningTarget[], z: Record<string, string[]>): () => string[] {
    return () => {
      if (path === 'cold') resetSigningCaches();
      if (path === 'warm key') {
        prepareVerifyingShares(key);
        resetSigningCaches({ keepKeyTables: true });
      }
      // 'coordinator signed': runBoth's signShares left the per-message math cached
      return aggregateSignatures(key, s.lists, targets, z);
    };
  }

  for (const messages of [1, 2, 4]) {
    it(`${messages} message(s): honest sessions give noble's signatures; bad shares name noble's culprits on every path`, () => {
      const signers = choose(shares, 9 + (messages % 2), rand);
      const targets: SigningTarget[] = Array.from({ length: messages }, (_, j) => ({ message: randomMessage(), tweak: j % 2 ? depositTweak(key, `multi-${messages}-${j}`) : undefined }));
      const s = runBoth(key, signers, targets, `multi-${messages}`);
      const ids = signers.map((x) => x.identifier);
      const last = messages - 1;
      const spoil = (id: string, at: Record<number, bigint>) => s.ours[id].map((v, j) => (at[j] === undefined ? v : tamper(v, at[j])));
      const cases: { name: string; z: Record<string, string[]>; culprits: string[] }[] = [
        { name: 'honest', z: s.ours, culprits: [] },
        { name: 'one bad share in the last message', z: { ...s.ours, [ids[3]]: spoil(ids[3], { [last]: 3n }) }, culprits: [ids[3]] },
        { name: 'two shares that cancel in a message', z: { ...s.ours, [ids[1]]: spoil(ids[1], { [last]: 11n }), [ids[6]]: spoil(ids[6], { [last]: -11n }) }, culprits: [ids[1], ids[6]] },
      ];
      if (messages > 1) {
        cases.push({ name: 'one signer cancelling itself across messages', z: { ...s.ours, [ids[2]]: spoil(ids[2], { 0: 5n, 1: -5n }) }, culprits: [ids[2]] });
        cases.push({ name: 'cheaters in different messages', z: { ...s.ours, [ids[0]]: spoil(ids[0], { 0: 1n }), [ids[8]]: spoil(ids[8], { [last]: 2n }) }, culprits: [ids[0], ids[8]] });
      }
      for (const c of cases) assert.deepEqual(nobleCulprits(s, signers, targets, c.z), c.culprits, `${c.name}: noble rejects exactly the tampered signers`);
      const nobleSigs = targets.map((tg, j) =>
        bytesToHex(frost.aggregate(noblePub(key, tg.tweak), s.nobleLists[j], hexToBytes(tg.message), Object.fromEntries(signers.map((x) => [x.identifier, hexToBytes(s.noble[x.identifier][j])])))),
      );
      // 'coordinator signed' first: runBoth's signShares left the per-message math cached
      for (const path of paths) {
        for (const c of cases) {
          const run = aggregateOn(path, s, targets, c.z);
          if (c.culprits.length) {
            const e = assertMetanodeError(run, 'INVALID_SIGNATURE_SHARE', c.culprits);
            assert.deepEqual(e.culprits, c.culprits, `${path} / ${c.name}: culprits in signer order`);
          } else assert.deepEqual(run(), nobleSigs, `${path}: noble's signatures`);
        }
      }
    });
  }

  it('a key whose verifying share of a non-signer is broken still aggregates with kept tables; a broken signer share is INVALID_INPUT', () => {
    const broken = { ...key, verifyingShares: { ...key.verifyingShares, [shares[11].identifier]: '02' + 'ff'.repeat(32) } };
    const signers = shares.slice(0, 9);
    const targets: SigningTarget[] = [{ message: randomMessage() }, { message: randomMessage() }, { message: randomMessage() }];
    const s = runBoth(key, signers, targets, 'broken-key');
    prepareVerifyingShares(broken);
    resetSigningCaches({ keepKeyTables: true });
    assert.deepEqual(aggregateSignatures(broken, s.lists, targets, s.ours), aggregateSignatures(key, s.lists, targets, s.ours));
    const brokenSigner = { ...key, verifyingShares: { ...key.verifyingShares, [shares[0].identifier]: '02' + 'ff'.repeat(32) } };
    prepareVerifyingShares(brokenSigner);
    resetSigningCaches({ keepKeyTables: true });
    assertMetanodeError(() => aggregateSignatures(brokenSigner, s.lists, targets, s.ours), 'INVALID_INPUT', [shares[0].identifier]);
  });
});
