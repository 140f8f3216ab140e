// Fast evaluation of Feldman commitments ("polynomials in the exponent") and the multi-scalar
// multiplications around them, all on noble's Point and Fn: only add, double, negate and noble's
// own MSM routines, no field or curve formulas of our own.
//
// Why: with FROST identifiers that are small integers (committee position + 1, see
// identifiers.ts), C(x) = sum_k x^k C_k can be evaluated by Horner's rule where every step
// multiplies by x, a handful of doublings, instead of an MSM with 256-bit scalars x^k mod n
// (about 10x fewer point operations at t = 67). Evaluating one commitment at many consecutive
// integers goes further: after rewriting it in the binomial basis, each next value costs t-1
// additions (forward differences). Large identifiers (any canonical scalar is still accepted)
// take noble's plain path.
import { interleavedMSMUnsafe, mulAddUnsafe, pippenger } from '@noble/curves/abstract/curve.js';
import { Fn, Point, type PointT } from './internal.js';

/** Identifiers up to this bound count as "small" and use the Horner / difference paths. */
export const SMALL_LIMIT = 1n << 20n;

/**
 * Relative cost of noble's complete projective formulas on secp256k1 (Point.double 8M+3S, Point.add
 * 12M; measured about 4.2 and 4.7 us here), used to pick multiplication chains and evaluation
 * strategies. Only the ratio matters.
 */
const COST_DOUBLE = 9;
const COST_ADD = 10;

const chainCache = new Map<number, Int8Array>();

/**
 * Cheapest signed-binary representation of a positive integer k, most significant digit first
 * (the first digit is 1, the others -1, 0 or 1), for double-and-add: each digit after the first
 * is one doubling plus, when non-zero, one addition of +-P. Unlike the NAF it may be a digit
 * shorter (100 = 1100100b: 6 doublings + 2 additions, where the NAF 1 0 -1 0 0 1 0 0 needs 7
 * doublings), and among representations it minimizes COST_DOUBLE * doublings + COST_ADD * additions.
 */
function chain(k: number): Int8Array {
  let d = chainCache.get(k);
  if (d) return d;
  const memo = new Map<number, { cost: number; digits: number[] }>();
  const best = (n: number): { cost: number; digits: number[] } => {
    if (n === 1) return { cost: 0, digits: [1] };
    const hit = memo.get(n);
    if (hit) return hit;
    let out: { cost: number; digits: number[] };
    if (n % 2 === 0) {
      const h = best(n / 2);
      out = { cost: h.cost + COST_DOUBLE, digits: [...h.digits, 0] };
    } else {
      // n = 2m + 1 (double, add P) or n = 2m' - 1 (double, subtract P)
      const lo = best((n - 1) / 2);
      const hi = best((n + 1) / 2);
      out = lo.cost <= hi.cost ? { cost: lo.cost + COST_DOUBLE + COST_ADD, digits: [...lo.digits, 1] } : { cost: hi.cost + COST_DOUBLE + COST_ADD, digits: [...hi.digits, -1] };
    }
    memo.set(n, out);
    return out;
  };
  d = Int8Array.from(best(k).digits);
  if (chainCache.size < 4096) chainCache.set(k, d);
  return d;
}

/** k * P for a small non-negative integer k (signed double-and-add on public points). */
export function mulSmall(P: PointT, k: number): PointT {
  if (!Number.isSafeInteger(k) || k < 0) throw new Error('mulSmall: k must be a non-negative safe integer');
  if (k === 0 || P.is0()) return Point.ZERO;
  if (k === 1) return P;
  const d = chain(k);
  const neg = P.negate();
  let acc = P;
  for (let i = 1; i < d.length; i++) {
    acc = acc.double();
    if (d[i] === 1) acc = acc.add(P);
    else if (d[i] === -1) acc = acc.add(neg);
  }
  return acc;
}

/** Cost of mulSmall(., k) in COST_DOUBLE / COST_ADD units (for choosing a strategy). */
function mulSmallCost(k: number): number {
  if (k <= 1) return 0;
  const d = chain(k);
  let cost = 0;
  for (let i = 1; i < d.length; i++) cost += d[i] === 0 ? COST_DOUBLE : COST_DOUBLE + COST_ADD;
  return cost;
}

function isSmall(x: bigint): boolean {
  return x > 0n && x < SMALL_LIMIT;
}

/** Powers 1, x, ..., x^(len-1) in Fn. */
export function powersOf(x: bigint, len: number): bigint[] {
  const out: bigint[] = [];
  let acc = Fn.ONE;
  for (let i = 0; i < len; i++) {
    out.push(acc);
    acc = Fn.mul(acc, x);
  }
  return out;
}

/**
 * Multi-scalar multiplication sum s_i P_i (public inputs only: variable time). Measured with
 * noble 2.x on secp256k1 (CPU time, 67-201 points, 256-bit scalars): interleaved wNAF with
 * width 5 is 5-20% faster than mulAddUnsafe's width 4 and than pippenger, which only wins for
 * batches of several hundred points.
 */
export function msm(points: PointT[], scalars: bigint[]): PointT {
  if (points.length !== scalars.length) throw new Error('msm: points and scalars differ in length');
  if (points.length === 0) return Point.ZERO;
  if (points.length < 8) return mulAddUnsafe(Point, points, scalars);
  if (points.length >= 512) return pippenger(Point, points, scalars);
  return interleavedMSMUnsafe(Point, points, 5)(scalars);
}

/** C(x) = sum_k x^k C_k: Horner with small-integer steps when x is small, else one MSM. */
export function evalCommitment(C: PointT[], x: bigint): PointT {
  if (C.length === 0) return Point.ZERO;
  if (!isSmall(x)) return msm(C, powersOf(x, C.length));
  const k = Number(x);
  let acc = C[C.length - 1];
  for (let i = C.length - 2; i >= 0; i--) acc = mulSmall(acc, k).add(C[i]);
  return acc;
}

/**
 * Rewrites C(x) = sum_k C_k x^k in the binomial basis, C(x) = sum_m D_m binom(x, m), so that
 * D_m = Delta^m C(0). Horner's rule in that basis: x * binom(x, m) = (m+1) binom(x, m+1) + m binom(x, m),
 * hence multiplying by x maps D_m to m (D_{m-1} + D_m): small multipliers only.
 */
function binomialBasis(C: PointT[]): PointT[] {
  let D: PointT[] = [C[C.length - 1]];
  for (let k = C.length - 2; k >= 0; k--) {
    const next: PointT[] = [C[k]];
    for (let m = 1; m <= D.length; m++) {
      const sum = m < D.length ? D[m - 1].add(D[m]) : D[m - 1];
      next.push(mulSmall(sum, m));
    }
    D = next;
  }
  return D;
}

/** Cost of binomialBasis for t coefficients plus stepping to maxX (COST_* units). */
function differenceCost(t: number, maxX: number): number {
  let cost = 0;
  for (let j = 1; j < t; j++) for (let m = 1; m <= j; m++) cost += COST_ADD + mulSmallCost(m);
  return cost + maxX * (t - 1) * COST_ADD;
}

const diffCostCache = new Map<string, number>();

/**
 * C(x) for every x in xs. When all xs are small integers and the forward-difference route
 * (binomial basis, then t-1 additions per step from 0 to max(xs)) costs less than one Horner
 * evaluation per x, takes it; otherwise evaluates each x on its own.
 */
export function evalCommitmentMany(C: PointT[], xs: bigint[]): PointT[] {
  const t = C.length;
  if (t === 0) return xs.map(() => Point.ZERO);
  if (t === 1 || xs.length < 4 || !xs.every(isSmall)) return xs.map((x) => evalCommitment(C, x));
  let maxX = 0;
  let hornerCost = 0;
  for (const x of xs) {
    const k = Number(x);
    if (k > maxX) maxX = k;
    hornerCost += (t - 1) * (COST_ADD + mulSmallCost(k));
  }
  const key = `${t}/${maxX}`;
  let diffCost = diffCostCache.get(key);
  if (diffCost === undefined) {
    diffCost = differenceCost(t, maxX);
    if (diffCostCache.size < 1024) diffCostCache.set(key, diffCost);
  }
  if (diffCost >= hornerCost) return xs.map((x) => evalCommitment(C, x));
  const D = binomialBasis(C);
  const wanted = new Map<number, number[]>();
  xs.forEach((x, i) => {
    const k = Number(x);
    const at = wanted.get(k);
    if (at) at.push(i);
    else wanted.set(k, [i]);
  });
  const out: PointT[] = new Array(xs.length);
  for (let x = 0; x <= maxX; x++) {
    const at = wanted.get(x);
    if (at) for (const i of at) out[i] = D[0];
    if (x === maxX) break;
    // Delta^m C(x+1) = Delta^m C(x) + Delta^(m+1) C(x); increasing m reads the old D[m+1].
    for (let m = 0; m < t - 1; m++) D[m] = D[m].add(D[m + 1]);
  }
  return out;
}

/** Sum of points (public). */
export function sumPoints(ps: PointT[]): PointT {
  let acc = Point.ZERO;
  for (const p of ps) acc = acc.add(p);
  return acc;
}
