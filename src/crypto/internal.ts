// Shared plumbing for the crypto modules: noble handles, hex <-> point/scalar parsing with
// validation, Lagrange coefficients, batched point encoding.
// Nothing here is exported from the package surface; other modules import from the
// specific files (dkg.ts, signing.ts, ...).
import { normalizeZ } from '@noble/curves/abstract/curve.js';
import { schnorr_FROST, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { MetanodeError, type ErrorCode } from '../util/errors.js';

export const frost = schnorr_FROST;
export const Point = secp256k1.Point;
export const Fn = Point.Fn;
export type PointT = InstanceType<typeof Point>;

export { bytesToHex, hexToBytes };

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export function isHex(s: unknown, bytes?: number): s is string {
  return typeof s === 'string' && HEX_RE.test(s) && (bytes === undefined || s.length === bytes * 2);
}

export function fail(code: ErrorCode, message: string, culprits: string[] = [], detail?: Record<string, unknown>): never {
  throw new MetanodeError(code, message, culprits, detail);
}

/** Compressed 33-byte point, on the curve, not the identity. Returns null instead of throwing. */
export function tryPoint(hex: unknown): PointT | null {
  if (!isHex(hex, 33)) return null;
  try {
    const p = Point.fromBytes(hexToBytes(hex));
    p.assertValidity();
    if (p.is0()) return null;
    return p;
  } catch {
    return null;
  }
}

/**
 * Wire form of the points that are parsed in bulk (DKG round-1 commitments and proof nonces,
 * reshare dealings, signing nonce commitments): uncompressed SEC1, 65 bytes 04 || x || y.
 * Parsing it needs no square root (~3 us instead of ~80 us for a compressed point); noble's
 * fromAffine and assertValidity check x, y < p, the curve equation, and refuse the identity.
 * Returns null instead of throwing.
 */
export function tryWirePoint(hex: unknown): PointT | null {
  if (!isHex(hex, 65) || !hex.startsWith('04')) return null;
  try {
    // Coordinates straight from the (already checked) hex: fromBytes would convert to bytes and
    // back and check the curve equation twice. fromAffine refuses x or y >= p, assertValidity
    // the curve equation and the identity (which is what (0, 0) decodes to).
    const p = Point.fromAffine({ x: BigInt('0x' + hex.slice(2, 66)), y: BigInt('0x' + hex.slice(66)) });
    p.assertValidity();
    return p;
  } catch {
    return null;
  }
}

/**
 * Hex of bytes as one flat string (node's encoder). noble's bytesToHex concatenates two
 * characters at a time, which leaves a rope that the first regular-expression check has to
 * flatten: for the n*t wire points of a DKG that is ~15 ms on the receiving side when the
 * packages were made in the same process (tests, benchmarks); across the network they arrive
 * flat from JSON anyway.
 */
function flatHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Wire (uncompressed, 65-byte) hex of one point. */
export function wireHex(p: PointT): string {
  return flatHex(p.toBytes(false));
}

/** Wire hex of many points with one batched inversion. */
export function wireHexes(ps: PointT[]): string[] {
  if (ps.some((p) => p.is0())) fail('INVALID_INPUT', 'cannot encode the identity point');
  return normalizeZ(Point, ps).map((p) => flatHex(p.toBytes(false)));
}

/**
 * The compressed (RFC 9591 / SEC1 33-byte) encoding of a point given in wire form, by string
 * operations only: 02 or 03 by the parity of y, then x. This is the encoding FROST and noble
 * hash, so challenges and binding factors stay those of the RFC whatever the wire carries.
 * Only for input that tryWirePoint accepted.
 */
export function compressedOfWire(hex: string): string {
  return (parseInt(hex[129], 16) & 1 ? '03' : '02') + hex.slice(2, 66);
}

/** Canonical 32-byte big-endian scalar < n (zero allowed only when allowZero). */
export function tryScalar(hex: unknown, allowZero = false): bigint | null {
  if (!isHex(hex, 32)) return null;
  const n = BigInt('0x' + hex);
  if (n >= Fn.ORDER) return null;
  if (n === 0n && !allowZero) return null;
  return n;
}

/** noble identifiers are canonical non-zero scalars, hex-encoded (64 lowercase chars). */
export function tryIdentifier(id: unknown): bigint | null {
  return tryScalar(id, false);
}

export function scalarHex(n: bigint): string {
  return bytesToHex(Fn.toBytes(n));
}

export function pointHex(p: PointT): string {
  return bytesToHex(p.toBytes(true));
}

/** Compressed hex of many points with one batched inversion (noble normalizeZ) instead of one each. */
export function pointsHex(ps: PointT[]): string[] {
  if (ps.some((p) => p.is0())) fail('INVALID_INPUT', 'cannot encode the identity point');
  return normalizeZ(Point, ps).map((p) => bytesToHex(p.toBytes(true)));
}

/** Whether a (non-identity) point has an even y coordinate (BIP340 / noble's hasEven). */
export function hasEvenY(p: PointT): boolean {
  return (p.toAffine().y & 1n) === 0n;
}

export function xOnlyHex(p: PointT): string {
  return bytesToHex(p.toBytes(true).subarray(1));
}

/** Lagrange coefficient at x = 0 for member xi over the set xs (all distinct, non-zero). */
export function lagrangeAtZero(xs: bigint[], xi: bigint): bigint {
  let num = Fn.ONE;
  let den = Fn.ONE;
  for (const x of xs) {
    if (x === xi) continue;
    num = Fn.mul(num, x);
    den = Fn.mul(den, Fn.sub(x, xi));
  }
  return Fn.div(num, den);
}

/**
 * Lagrange coefficients at x = 0 for every member of xs (distinct, non-zero), with one field
 * inversion for all: lambda_i = prod_j x_j / (x_i * prod_{j != i} (x_j - x_i)).
 */
export function lagrangeAllAtZero(xs: bigint[]): bigint[] {
  let all = Fn.ONE;
  for (const x of xs) all = Fn.mul(all, x);
  const dens = xs.map((xi) => {
    let den = xi;
    for (const x of xs) if (x !== xi) den = Fn.mul(den, Fn.sub(x, xi));
    return den;
  });
  return Fn.invertBatch(dens).map((inv) => Fn.mul(all, inv));
}

export function sha256Hex(data: Uint8Array): string {
  return bytesToHex(sha256(data));
}

/** Random 128-bit non-zero scalar for random-linear-combination batch checks. */
export function batchWeight(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(16));
  const n = BigInt('0x' + bytesToHex(b));
  return n === 0n ? 1n : n;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** 8-byte big-endian encoding of a non-negative safe integer (epochs, rounds). */
export function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** 4-byte length prefix + bytes, so variable-length fields cannot run into each other. */
export function lp(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length);
  out.set(b, 4);
  return out;
}
