// The fast commitment evaluation (Horner at small identifiers, forward differences) against
// noble's plain form: one MSM with the powers x^k mod n, as noble's evalutateVSS computes it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';
import { evalCommitment, evalCommitmentMany, msm, mulSmall, powersOf, SMALL_LIMIT } from '../../src/crypto/poly.js';

const Point = secp256k1.Point;
const Fn = Point.Fn;
const scalar = () => Fn.create(BigInt('0x' + randomBytes(32).toString('hex'))) || 1n;
const point = () => Point.BASE.multiply(scalar());
const plain = (C: InstanceType<typeof Point>[], x: bigint) => mulAddUnsafe(Point, C, powersOf(x, C.length));

describe('commitment evaluation (poly.ts) equals noble\'s plain MSM', () => {
  it('mulSmall(P, k) == k*P', () => {
    const P = point();
    for (const k of [0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 63, 64, 65, 100, 255, 1023, 65535, 999_983])
      assert.ok(mulSmall(P, k).equals(k === 0 ? Point.ZERO : P.multiplyUnsafe(BigInt(k))), `k=${k}`);
    assert.ok(mulSmall(Point.ZERO, 5).is0());
    assert.throws(() => mulSmall(P, -1));
  });

  it('mulSmall takes a correct chain for every k up to 2100 and for spread-out k below SMALL_LIMIT', () => {
    const P = point();
    let want = Point.ZERO;
    for (let k = 0; k <= 2100; k++) {
      assert.ok(mulSmall(P, k).equals(want), `k=${k}`);
      want = want.add(P);
    }
    for (let i = 0; i < 20; i++) {
      const k = 1 + ((i * 2_654_435_761) % (Number(SMALL_LIMIT) - 1));
      assert.ok(mulSmall(P, k).equals(P.multiplyUnsafe(BigInt(k))), `k=${k}`);
    }
  });

  it('single evaluation: small identifiers (Horner) and large ones (MSM)', () => {
    for (const t of [1, 2, 3, 7, 20]) {
      const C = Array.from({ length: t }, point);
      for (const x of [1n, 2n, 3n, 10n, 67n, 100n, SMALL_LIMIT - 1n, SMALL_LIMIT, scalar()])
        assert.ok(evalCommitment(C, x).equals(plain(C, x)), `t=${t} x=${x}`);
    }
  });

  it('many evaluations: forward differences over 1..n, gaps, repeats and mixed large identifiers', () => {
    for (const [t, n] of [
      [2, 10],
      [3, 12],
      [7, 30],
      [20, 40],
    ] as const) {
      const C = Array.from({ length: t }, point);
      const consecutive = Array.from({ length: n }, (_, i) => BigInt(i + 1));
      const got = evalCommitmentMany(C, consecutive);
      consecutive.forEach((x, i) => assert.ok(got[i].equals(plain(C, x)), `t=${t} x=${x}`));
      const sparse = [n, 3n, 3n, 1n, BigInt(Math.floor(n / 2))].map((x) => BigInt(x));
      const got2 = evalCommitmentMany(C, sparse);
      sparse.forEach((x, i) => assert.ok(got2[i].equals(plain(C, x)), `sparse t=${t} x=${x}`));
      const mixed = [...consecutive.slice(0, 5), scalar()];
      const got3 = evalCommitmentMany(C, mixed);
      mixed.forEach((x, i) => assert.ok(got3[i].equals(plain(C, x)), `mixed t=${t} x=${x}`));
    }
    assert.deepEqual(evalCommitmentMany([], [1n, 2n]).map((p) => p.is0()), [true, true]);
  });

  it('msm() equals the sum of single multiplications, zero scalars included', () => {
    const ps = Array.from({ length: 9 }, point);
    const ss = ps.map((_, i) => (i === 4 ? 0n : scalar()));
    const want = ps.reduce((acc, p, i) => (ss[i] === 0n ? acc : acc.add(p.multiplyUnsafe(ss[i]))), Point.ZERO);
    assert.ok(msm(ps, ss).equals(want));
    assert.ok(msm([], []).is0());
  });
});
