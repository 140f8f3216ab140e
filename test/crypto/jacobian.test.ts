// jacobian.ts against noble's Point: every routine on random inputs and on the exceptional cases
// of incomplete formulas (infinity operands, P + P, P + (-P), accumulators that hit a table
// entry), which a dishonest dealer can provoke on purpose.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { add, dbl, fromJac, hornerSmall, INF, madd, msmJ, mulSmallJ, neg, onCurve, toAffineMany, toJac } from '../../src/crypto/jacobian.js';
import { powersOf } from '../../src/crypto/poly.js';
import { prng } from './helpers.js';

const Point = secp256k1.Point;
const Fn = Point.Fn;
const rand = prng(0x1ac0b);
const scalar = (): bigint => {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
  return Fn.create(v) || 1n;
};
const point = () => Point.BASE.multiply(scalar());
/** The same point with a non-trivial Z (as noble's arithmetic leaves it). */
const projective = (p: InstanceType<typeof Point>) => p.add(Point.BASE).subtract(Point.BASE);

describe('jacobian.ts point operations equal noble\'s', () => {
  it('conversions, doubling, mixed and general addition on random points (affine and projective inputs)', () => {
    for (let i = 0; i < 20; i++) {
      const p = point();
      const q = i % 2 ? projective(point()) : point();
      assert.ok(fromJac(toJac(p)).equals(p));
      assert.ok(fromJac(toJac(q)).equals(q));
      assert.ok(fromJac(dbl(toJac(q))).equals(q.double()));
      assert.ok(fromJac(add(toJac(p), toJac(q))).equals(p.add(q)));
      assert.ok(fromJac(add(dbl(toJac(q)), dbl(toJac(p)))).equals(q.double().add(p.double())));
      assert.ok(fromJac(madd(dbl(toJac(q)), p.toAffine())).equals(q.double().add(p)));
      assert.ok(fromJac(neg(toJac(q))).equals(q.negate()));
      const [a] = toAffineMany([dbl(toJac(q))]);
      assert.deepEqual(a, q.double().toAffine());
    }
  });

  it('exceptional cases: infinity operands, P + P, P + (-P), in every form', () => {
    const p = point();
    const pj = dbl(dbl(toJac(p))); // Z != 1
    const four = p.multiply(4n);
    assert.ok(fromJac(add(INF, toJac(p))).equals(p));
    assert.ok(fromJac(add(toJac(p), INF)).equals(p));
    assert.ok(fromJac(madd(INF, p.toAffine())).equals(p));
    assert.ok(fromJac(dbl(INF)).is0());
    assert.ok(fromJac(add(toJac(p), toJac(p))).equals(p.double()));
    assert.ok(fromJac(add(toJac(p), toJac(p.negate()))).is0());
    assert.ok(fromJac(add(pj, pj)).equals(four.double()));
    assert.ok(fromJac(add(pj, neg(pj))).is0());
    assert.ok(fromJac(madd(pj, four.toAffine())).equals(four.double()));
    assert.ok(fromJac(madd(pj, four.negate().toAffine())).is0());
    assert.ok(fromJac(add(pj, toJac(projective(four)))).equals(four.double()));
    assert.ok(fromJac(toJac(Point.ZERO)).is0());
  });

  it('mulSmallJ and hornerSmall equal noble\'s multiply and MSM, with crafted commitments', () => {
    const p = point();
    for (const k of [0, 1, 2, 3, 7, 100, 1000, 65535]) assert.ok(fromJac(mulSmallJ(toJac(p), k)).equals(k === 0 ? Point.ZERO : p.multiply(BigInt(k))), `k=${k}`);
    for (const x of [1, 2, 5, 100]) {
      const C = Array.from({ length: 7 }, point);
      assert.ok(hornerSmall(C, x).equals(mulAddUnsafe(Point, C, powersOf(BigInt(x), C.length))));
      // a dealer choosing C_k = -x * acc makes a Horner step hit infinity; C_k = x * acc a doubling
      const acc = C[6].multiply(BigInt(x)).add(C[5]).multiply(BigInt(x));
      for (const crafted of [acc.negate(), acc]) {
        const D = [...C.slice(0, 4), crafted, C[5], C[6]];
        assert.ok(hornerSmall(D, x).equals(mulAddUnsafe(Point, D, powersOf(BigInt(x), D.length))), `x=${x}`);
      }
    }
    // all-zero-sum commitment: C(x) is the identity
    const q = point();
    assert.ok(hornerSmall([q.multiply(3n).negate(), q], 3).is0());
  });

  it('msmJ equals noble\'s MSM: sizes 1..201, short and zero scalars, repeated and opposite points', () => {
    for (const n of [1, 2, 3, 4, 5, 9, 67, 201]) {
      const pts = Array.from({ length: n }, (_, i) => (i % 3 === 2 ? projective(point()) : point()));
      const sc = pts.map((_, i) => (i % 4 === 1 ? scalar() >> 128n : scalar()));
      assert.ok(msmJ(pts, sc).equals(mulAddUnsafe(Point, pts, sc)), `n=${n}`);
    }
    const p = point();
    const k = scalar();
    assert.ok(msmJ([p, p], [k, Fn.neg(k)]).is0());
    assert.ok(msmJ([p, p.negate()], [k, k]).is0());
    assert.ok(msmJ([p, p, p], [1n, 1n, 1n]).equals(p.multiply(3n)));
    assert.ok(msmJ([p, p.multiply(2n), p.multiply(4n)], [4n, 2n, 1n]).equals(p.multiply(12n)));
    assert.ok(msmJ([p, Point.ZERO], [0n, k]).is0());
    assert.ok(msmJ([], []).is0());
    assert.ok(msmJ([p], [Fn.ORDER - 1n]).equals(p.negate()));
    assert.throws(() => msmJ([p], [Fn.ORDER]));
    assert.throws(() => msmJ([p], [1n, 2n]));
  });

  it('onCurve agrees with noble on valid, off-curve and out-of-range coordinates', () => {
    const P = Point.CURVE().p;
    for (let i = 0; i < 10; i++) {
      const { x, y } = point().toAffine();
      assert.equal(onCurve(x, y), true);
      assert.equal(onCurve(x, P - y), true);
      assert.equal(onCurve(x, (y + 1n) % P), false);
      assert.equal(onCurve(x + P, y), false);
      assert.equal(onCurve(x, y + P), false);
    }
    assert.equal(onCurve(0n, 0n), false);
  });
});
