// Differential tests: the fast DKG (dkg.ts rounds 2 and 3 on Point/Fn) against noble's
// schnorr_FROST.DKG.round2/round3 called the plain way, on the same round-1 packages and the
// same secret polynomials: byte-identical round-2 shares, commitments, verifying shares and
// signing shares; and for bad inputs, the same culprits as checking every package on its own
// with noble's formulas (and noble refusing exactly when we do).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { schnorr_FROST, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { dkgFinish, dkgRound2, dkgStart, DkgSession, type DkgRound1Package, type DkgRound2Package } from '../../src/crypto/dkg.js';
import { powersOf } from '../../src/crypto/poly.js';
import type { CommitteeMember } from '../../src/crypto/types.js';
import { assertMetanodeError, choose, committeeOf, prng, round1ToNoble } from './helpers.js';

const frost = schnorr_FROST;
const Point = secp256k1.Point;
const Fn = Point.Fn;

type NobleSecret = ReturnType<typeof frost.DKG.round1>['secret'];

interface Run {
  committee: CommitteeMember[];
  sessions: DkgSession[];
  /** Copies of each member's noble DKG secret taken before our rounds ran. */
  nobleSecrets: NobleSecret[];
  round1: DkgRound1Package[];
  round2: DkgRound2Package[];
}

function start(n: number, t: number, withRound2 = true): Run {
  const committee = committeeOf(n, 'diff');
  const started = committee.map((m) => dkgStart({ self: m.identifier, committee, threshold: t, epoch: 3, network: 'regtest' }));
  const nobleSecrets = started.map((s) => structuredClone(DkgSession.secretOf(s.session)));
  const round1 = started.map((s) => s.round1);
  const round2 = withRound2 ? started.flatMap((s) => dkgRound2(s.session, round1)) : [];
  return { committee, sessions: started.map((s) => s.session), nobleSecrets, round1, round2 };
}

// Our round-1 packages carry uncompressed points and a full R; noble gets its own form of them.
const othersOf = (run: Run, i: number, round1 = run.round1) => round1.filter((p) => p.identifier !== run.committee[i].identifier).map(round1ToNoble);
const sharesFor = (run: Run, i: number, round2 = run.round2) => round2.filter((p) => p.to === run.committee[i].identifier);

/** noble's validateSecretShare on its own: s*G == sum_k x^k C_k (its evalutateVSS). */
function nobleShareOk(x: bigint, commitment: string[], share: string): boolean {
  const C = commitment.map((c) => Point.fromHex(c));
  const s = BigInt('0x' + share);
  const lhs = s === 0n ? Point.ZERO : Point.BASE.multiply(s);
  return lhs.equals(mulAddUnsafe(Point, C, powersOf(x, C.length)));
}

function throwsNoble(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch {
    return true;
  }
}

const shiftHex = (hex: string, d: bigint) => bytesToHex(Fn.toBytes(Fn.create(BigInt('0x' + hex) + d)));

for (const [n, t, compare] of [
  [5, 3, [0, 2, 4]],
  [10, 7, [0, 9]],
  [30, 20, [0, 29]],
] as const) {
  describe(`DKG fast path vs noble round2/round3 (n=${n}, t=${t})`, () => {
    const run = start(n, t);
    const results = new Map(compare.map((i) => [i, dkgFinish(run.sessions[i], run.round1, sharesFor(run, i))]));

    it('byte-identical round-2 shares, commitments, verifying shares and signing shares', () => {
      for (const i of compare) {
        const secret = structuredClone(run.nobleSecrets[i]);
        const others = othersOf(run, i);
        const r2 = frost.DKG.round2(secret, others);
        const me = run.committee[i].identifier;
        const ours = run.round2.filter((p) => p.from === me);
        assert.equal(ours.length, n - 1);
        for (const p of ours) assert.equal(p.signingShare, bytesToHex(r2[p.to].signingShare), `share ${me} -> ${p.to}`);
        const mine = sharesFor(run, i).map((p) => ({ identifier: p.from, signingShare: hexToBytes(p.signingShare) }));
        const res = frost.DKG.round3(secret, others, mine);
        const { key, share } = results.get(i)!;
        assert.deepEqual(key.commitments, res.public.commitments.map((c) => bytesToHex(c)));
        assert.deepEqual(key.verifyingShares, Object.fromEntries(run.committee.map((m) => [m.identifier, bytesToHex(res.public.verifyingShares[m.identifier])])));
        assert.deepEqual(Object.keys(key.verifyingShares), run.committee.map((m) => m.identifier));
        assert.equal(share.signingShare, bytesToHex(res.secret.signingShare));
        assert.equal(key.outputKey, bytesToHex(res.public.commitments[0]).slice(2));
      }
      for (const r of results.values()) assert.deepEqual(r.key, results.get(compare[0])!.key);
    });
  });
}

describe('DKG fast path vs noble: both parities of the merged key (n=4, t=3)', () => {
  it('odd and even sums of commitment[0] (even-y normalization negates everything) give noble\'s bytes', () => {
    const seen = new Set<boolean>();
    for (let k = 0; k < 16 && seen.size < 2; k++) {
      const run = start(4, 3);
      const internal = run.round1.reduce((acc, p) => acc.add(Point.fromHex(p.commitment[0])), Point.ZERO);
      seen.add((internal.toAffine().y & 1n) === 0n);
      const i = k % 4;
      const ours = dkgFinish(run.sessions[i], run.round1, sharesFor(run, i));
      const secret = structuredClone(run.nobleSecrets[i]);
      frost.DKG.round2(secret, othersOf(run, i));
      const res = frost.DKG.round3(secret, othersOf(run, i), sharesFor(run, i).map((p) => ({ identifier: p.from, signingShare: hexToBytes(p.signingShare) })));
      assert.deepEqual(ours.key.commitments, res.public.commitments.map((c) => bytesToHex(c)));
      assert.deepEqual(Object.values(ours.key.verifyingShares), run.committee.map((m) => bytesToHex(res.public.verifyingShares[m.identifier])));
      assert.equal(ours.share.signingShare, bytesToHex(res.secret.signingShare));
    }
    assert.equal(seen.size, 2, 'both parities were exercised');
  });
});

describe('DKG blame: fast path names the same culprits as per-package checks (n=10, t=7)', () => {
  const rand = prng(0xd15c0);

  it('bad proofs of knowledge, random subsets and kinds; noble refuses exactly these lists', () => {
    for (let trial = 0; trial < 6; trial++) {
      const run = start(10, 7, false);
      const k = 1 + Math.floor(rand() * 3);
      const bad = choose(run.committee.slice(1), k, rand).map((m) => m.identifier);
      const round1 = run.round1.map((p, j) => {
        if (!bad.includes(p.identifier)) return p;
        const other = run.round1[(j + 1) % run.round1.length];
        switch (trial % 3) {
          case 0: // another member's proof
            return { ...p, proofOfKnowledge: other.proofOfKnowledge };
          case 1: // response off by one
            return { ...p, proofOfKnowledge: p.proofOfKnowledge.slice(0, 130) + shiftHex(p.proofOfKnowledge.slice(130), 1n) };
          default: // another member's whole package replayed under this identifier
            return { ...other, identifier: p.identifier };
        }
      });
      assertMetanodeError(() => dkgRound2(run.sessions[0], round1), 'INVALID_PROOF_OF_KNOWLEDGE', bad);
      // Per package with noble: round2 over the honest list with only that package swapped in.
      const perPackage = run.committee
        .slice(1)
        .filter((_, j) => throwsNoble(() => frost.DKG.round2(structuredClone(run.nobleSecrets[0]), othersOf(run, 0, run.round1.map((p, q) => (q === j + 1 ? round1[q] : p))))))
        .map((m) => m.identifier);
      assert.deepEqual(perPackage, bad);
      assert.ok(throwsNoble(() => frost.DKG.round2(structuredClone(run.nobleSecrets[0]), othersOf(run, 0, round1))));
    }
  });

  it('bad shares (single, several, pairs that cancel in the sum) for members at every position', () => {
    const run = start(10, 7);
    for (let trial = 0; trial < 8; trial++) {
      const i = trial === 0 ? 0 : trial === 1 ? 9 : Math.floor(rand() * 10);
      const me = run.committee[i];
      const dealers = run.committee.filter((m) => m.identifier !== me.identifier);
      const k = 1 + Math.floor(rand() * 3);
      const bad = choose(dealers, trial % 2 ? Math.max(2, k) : k, rand).map((m) => m.identifier);
      const cancel = trial % 2 === 1; // +d, -d, +d ... with the sum corrected to zero on the last
      const deltas = new Map<string, bigint>();
      let sum = 0n;
      bad.forEach((id, j) => {
        const d = cancel && j === bad.length - 1 ? -sum : BigInt(1 + Math.floor(rand() * 1000));
        deltas.set(id, d);
        sum += d;
      });
      if (cancel) assert.equal(Fn.create([...deltas.values()].reduce((a, b) => a + b, 0n)), 0n);
      const mine = sharesFor(run, i).map((p) => (deltas.has(p.from) ? { ...p, signingShare: shiftHex(p.signingShare, deltas.get(p.from)!) } : p));
      assertMetanodeError(() => dkgFinish(run.sessions[i], run.round1, mine), 'INVALID_SECRET_SHARE', bad);
      const x = BigInt('0x' + me.identifier);
      const perDealer = mine.filter((p) => !nobleShareOk(x, run.round1.find((r) => r.identifier === p.from)!.commitment, p.signingShare)).map((p) => p.from);
      assert.deepEqual(perDealer.sort(), [...bad].sort());
      const noble = structuredClone(run.nobleSecrets[i]);
      frost.DKG.round2(noble, othersOf(run, i));
      assert.ok(throwsNoble(() => frost.DKG.round3(noble, othersOf(run, i), mine.map((p) => ({ identifier: p.from, signingShare: hexToBytes(p.signingShare) })))));
    }
    // the sessions were not consumed by the failures: the honest shares still finish
    const done = run.sessions.map((s, i) => dkgFinish(s, run.round1, sharesFor(run, i)));
    for (const d of done) assert.equal(d.key.outputKey, done[0].key.outputKey);
  });
});
