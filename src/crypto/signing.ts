// FROST signing sessions (RFC 9591, FROST-secp256k1-SHA256-TR as in noble's schnorr_FROST): one
// session signs several messages (one per transaction input), with one nonce pair per message.
//
// - Nonces live only in memory inside SigningNonces (private fields, not serializable) and are
//   consumed by the first signShares call; any further call throws NONCE_REUSE.
// - Every commitment list is validated (each signer exactly once, valid points) and every
//   signature share is verified before aggregation; a bad share names its sender.
// - A target may carry a deposit tweak (taproot.ts): the shares, verifying shares and group key
//   are shifted by delta = t_d - t_0, where t_0 is the empty-tree TapTweak noble applied in the
//   DKG and t_d the TapTweak for the deposit root, so the group key becomes P + t_d*G.
//
// The per-message values (binding factors rho_i, group commitment R, challenge c, Lagrange
// coefficients) are computed once per message on noble's Point/Fn, restating noble's
// schnorr_FROST formulas, and reused for the own share, every share check and the aggregate
// (noble recomputes R, an MSM over all signers, inside every signShare/verifyShare call).
// test/crypto/differential-signing.test.ts checks byte-identical shares and signatures against
// noble's signShare/aggregate for the same nonces, and the same verdict as noble's verifyShare.
import { interleavedMSMUnsafe } from '@noble/curves/abstract/curve.js';
import { schnorr, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { findMember } from './identifiers.js';
import {
  batchWeight,
  bytesToHex,
  compressedOfWire,
  fail,
  Fn,
  frost,
  hasEvenY,
  hexToBytes,
  isHex,
  lagrangeAllAtZero,
  lagrangeAtZero,
  Point,
  type PointT,
  tryPoint,
  tryScalar,
  tryWirePoint,
  utf8,
  wireHex,
} from './internal.js';
import { msm } from './poly.js';
import { outputKeyFor, tapTweakScalar } from './taproot.js';
import type { EpochKey, KeyShare } from './types.js';
import { resetVerifyingTables, verifyingTableFor } from './verifying-tables.js';

export { prepareVerifyingShares } from './verifying-tables.js';

/**
 * One signer's nonce commitments for one message. On the wire (and here) the points are
 * uncompressed, 65-byte 04 || x || y hex: every signer and the aggregator parse 2t of them per
 * message, and uncompressed points need no square root. The binding factors hash the RFC 9591
 * (compressed) encoding, derived from these by string operations (compressedOfWire), so shares
 * and signatures are noble's byte for byte.
 */
export interface NonceCommitment {
  identifier: string;
  hiding: string;
  binding: string;
}

export interface SigningTarget {
  /** 32-byte BIP341 sighash, hex. */
  message: string;
  /** Deposit tweak (depositTweak()), absent = vault key. */
  tweak?: string;
}

/** Single-use nonces of one signer for one session; memory only, never serialized. */
export class SigningNonces {
  readonly identifier: string;
  readonly epoch: number;
  readonly commitments: NonceCommitment[];
  #nonces: { hiding: Uint8Array; binding: Uint8Array }[];
  #used = false;

  constructor(identifier: string, epoch: number, nonces: { hiding: Uint8Array; binding: Uint8Array }[], commitments: NonceCommitment[]) {
    this.identifier = identifier;
    this.epoch = epoch;
    this.#nonces = nonces;
    this.commitments = commitments;
  }

  get used(): boolean {
    return this.#used;
  }

  /** Hands the nonces out exactly once and wipes the stored copies. */
  static consume(n: SigningNonces): { hiding: Uint8Array; binding: Uint8Array }[] {
    if (n.#used) fail('NONCE_REUSE', 'these signing nonces were already used', [n.identifier]);
    n.#used = true;
    const out = n.#nonces.map((x) => ({ hiding: x.hiding.slice(), binding: x.binding.slice() }));
    for (const x of n.#nonces) {
      x.hiding.fill(0);
      x.binding.fill(0);
    }
    n.#nonces = [];
    return out;
  }

  toJSON(): Record<string, unknown> {
    return { identifier: this.identifier, epoch: this.epoch, used: this.#used, commitments: this.commitments };
  }
}

function keyShareSecret(share: KeyShare): bigint {
  const s = tryScalar(share?.signingShare);
  if (s === null) fail('KEYSTORE', 'signing share is not a valid scalar');
  return s;
}

/** noble's randomness hook for commit(): returns `bytes` random bytes (32 when omitted). */
export type NonceRng = Parameters<typeof frost.commit>[1];

/**
 * Round 1: fresh nonce pairs, one per message, and their public commitments. `rng` is noble's
 * randomness hook (32 bytes per call, mixed with the secret share by noble's nonce_generate);
 * only tests pass it, to give noble's own signShare the same nonces in differential tests.
 */
export function signingCommit(share: KeyShare, key: EpochKey, count: number, rng?: NonceRng): { nonces: SigningNonces; commitments: NonceCommitment[] } {
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) fail('INVALID_INPUT', `count must be in [1, 10000], got ${count}`);
  if (share.epoch !== key.epoch) fail('INVALID_INPUT', `share is for epoch ${share.epoch}, key for ${key.epoch}`);
  if (!findMember(key.committee, share.identifier)) fail('INVALID_INPUT', 'share identifier is not in the committee');
  keyShareSecret(share);
  const secret = { identifier: share.identifier, signingShare: hexToBytes(share.signingShare) };
  const nonces: { hiding: Uint8Array; binding: Uint8Array }[] = [];
  const commitments: NonceCommitment[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng ? frost.commit(secret, rng) : frost.commit(secret);
    nonces.push(r.nonces);
    commitments.push({ identifier: share.identifier, hiding: wireHex(Point.fromBytes(r.commitments.hiding)), binding: wireHex(Point.fromBytes(r.commitments.binding)) });
  }
  return { nonces: new SigningNonces(share.identifier, key.epoch, nonces, commitments), commitments };
}

// --- parsing, with a bounded cache ---------------------------------------------------------
// In a ceremony the same nonce commitments (uncompressed) and verifying shares (compressed, from
// the stored key: a square root each, ~0.1 ms in JS) are parsed by the list check, the own
// share, every arriving share's check and the aggregation; the cache makes that one parse each.
// Entries are immutable noble Points keyed by their canonical encoding (the two forms differ in
// length), so a hit is always correct.
const POINT_CACHE_MAX = 16_384;
const pointCache = new Map<string, PointT>();

function parseCached(hex: string, wire = false): PointT | null {
  const hit = pointCache.get(hex);
  if (hit) return hit;
  const p = wire ? tryWirePoint(hex) : tryPoint(hex);
  if (!p) return null;
  if (pointCache.size >= POINT_CACHE_MAX) pointCache.delete(pointCache.keys().next().value!);
  pointCache.set(hex, p);
  return p;
}

/**
 * Drops the parse and per-message caches and the kept verifying-share tables (benchmarks
 * measure cold paths with it; tests use it too). `keepKeyTables`: only the per-ceremony state
 * goes, as for a coordinator that did not sign but has aggregated under the key before.
 */
export function resetSigningCaches(opts: { keepKeyTables?: boolean } = {}): void {
  pointCache.clear();
  mathCache.clear();
  targetCache.clear();
  lambdaCache.clear();
  if (!opts.keepKeyTables) resetVerifyingTables();
}

interface ParsedNonce {
  D: PointT; // hiding commitment
  E: PointT; // binding commitment
}

/**
 * Each signer exactly once, in the committee, at least threshold of them; each list has `count`
 * entries naming their owner with valid non-identity points. Throws with the culprits.
 */
export function validateCommitmentList(key: EpochKey, signers: string[], lists: Record<string, NonceCommitment[]>, count: number): void {
  parseCommitmentLists(key, signers, lists, count);
}

function parseCommitmentLists(key: EpochKey, signers: string[], lists: Record<string, NonceCommitment[]>, count: number): Map<string, ParsedNonce[]> {
  if (!Array.isArray(signers)) fail('INVALID_COMMITMENT_LIST', 'signers must be an array');
  if (!lists || typeof lists !== 'object') fail('INVALID_COMMITMENT_LIST', 'commitment lists must be an object');
  const members = new Set(key.committee.map((m) => m.identifier));
  const seen = new Set<string>();
  const dup: string[] = [];
  const unknown: string[] = [];
  for (const s of signers) {
    if (!members.has(s)) unknown.push(String(s));
    else if (seen.has(s)) dup.push(s);
    seen.add(s);
  }
  for (const k of Object.keys(lists)) if (!seen.has(k)) unknown.push(k);
  if (unknown.length) fail('UNKNOWN_PARTICIPANT', 'commitments from outside the signer set or committee', [...new Set(unknown)]);
  if (dup.length) fail('DUPLICATE_IDENTIFIER', 'signer listed twice', [...new Set(dup)]);
  if (signers.length < key.threshold || signers.length > key.committee.length)
    fail('INVALID_COMMITMENT_LIST', `need between ${key.threshold} and ${key.committee.length} signers, got ${signers.length}`);
  const missing = signers.filter((s) => !Object.prototype.hasOwnProperty.call(lists, s));
  if (missing.length) fail('MISSING_PACKAGE', 'nonce commitments missing', missing);
  const wrongLen = signers.filter((s) => !Array.isArray(lists[s]) || lists[s].length !== count);
  if (wrongLen.length) fail('INVALID_COMMITMENT_LIST', `each signer must commit to exactly ${count} nonce pairs`, wrongLen);
  const bad: string[] = [];
  const out = new Map<string, ParsedNonce[]>();
  for (const s of signers) {
    const parsed: ParsedNonce[] = [];
    for (const c of lists[s]) {
      const D = c && c.identifier === s ? parseCached(c.hiding, true) : null;
      const E = D ? parseCached(c.binding, true) : null;
      if (!D || !E) break;
      parsed.push({ D, E });
    }
    if (parsed.length !== count) bad.push(s);
    else out.set(s, parsed);
  }
  if (bad.length) fail('INVALID_NONCE_COMMITMENT', 'nonce commitment with a wrong identifier, or a point that is not a valid uncompressed (65-byte 04||x||y) curve point', bad);
  return out;
}

function validateTargets(targets: SigningTarget[]): void {
  if (!Array.isArray(targets) || targets.length === 0) fail('INVALID_INPUT', 'targets must be a non-empty array');
  for (const t of targets) {
    if (!t || !isHex(t.message, 32)) fail('INVALID_INPUT', 'target message must be a 32-byte hex sighash');
    if (t.tweak !== undefined && !isHex(t.tweak, 32)) fail('INVALID_INPUT', 'target tweak must be 32-byte hex');
  }
}

/** The group key a target signs for, as noble's adjustPublic/adjustSecret would present it. */
interface TargetCtx {
  /** Tweaked, even-y group key Q and its compressed encoding. */
  groupKey: PointT;
  gpk: Uint8Array;
  /** Tweak shift delta and whether Q_raw = Q0 + delta*G had odd y (everything then negated). */
  delta: bigint;
  odd: boolean;
  outputKey: string;
}

// A ceremony over many deposit inputs asks for the same (key, tweak) context once per signer
// and per call; each costs a base multiplication and two encodings, so they are kept.
const TARGET_CACHE_MAX = 4096;
const targetCache = new Map<string, TargetCtx>();

function targetContext(key: EpochKey, tweak: string | undefined): TargetCtx {
  const cacheKey = `${key.network}:${key.internalKey}:${key.outputKey}:${key.commitments[0]}:${tweak ?? ''}`;
  const hit = targetCache.get(cacheKey);
  if (hit) return hit;
  const ctx = computeTargetContext(key, tweak);
  if (targetCache.size >= TARGET_CACHE_MAX) targetCache.delete(targetCache.keys().next().value!);
  targetCache.set(cacheKey, ctx);
  return ctx;
}

function computeTargetContext(key: EpochKey, tweak: string | undefined): TargetCtx {
  let delta = 0n;
  if (tweak !== undefined && tweak !== '') delta = Fn.sub(tapTweakScalar(key.internalKey, tweak), tapTweakScalar(key.internalKey, ''));
  const q = parseCached(key.commitments[0]);
  if (!q) fail('INVALID_INPUT', 'epoch key commitments[0] is not a valid point');
  let Q = delta === 0n ? q : q.add(Point.BASE.multiplyUnsafe(delta));
  if (Q.is0()) fail('SHARE_INCONSISTENCY', 'tweaked group key is the identity');
  const odd = !hasEvenY(Q);
  if (odd) Q = Q.negate();
  const gpk = Q.toBytes(true);
  const outputKey = outputKeyFor(key, tweak);
  if (bytesToHex(gpk.subarray(1)) !== outputKey) fail('SHARE_INCONSISTENCY', 'tweaked group key does not match the Taproot output key');
  return { groupKey: Q, gpk, delta, odd, outputKey };
}

/** Vault signing share -> the share for this target: noble's frostSecretToEvenY of (s + delta). */
function adjustSecret(ctx: TargetCtx, s: bigint): bigint {
  const t = Fn.add(s, ctx.delta);
  return ctx.odd ? Fn.neg(t) : t;
}

// --- per-message math (RFC 9591 sections 4.4-4.6 as noble's secp256k1-TR suite computes them) ---

const SUITE = 'FROST-secp256k1-SHA256-TR-v1';
const DST_RHO = utf8(SUITE + 'rho');
const PREFIX_MSG = utf8(SUITE + 'msg');
const PREFIX_COM = utf8(SUITE + 'com');

interface MessageMath {
  /** Group commitment R = sum D_i + rho_i E_i; its x coordinate goes into the signature. */
  R: PointT;
  odd: boolean; // R has odd y: signers negate their nonces (noble adjustNonces)
  c: bigint;
  rho: Map<string, bigint>;
  /** Signer identifiers as scalars (sorted), and Lagrange coefficients computed on first use. */
  xs: bigint[];
  lambda: Map<string, bigint>;
  nonces: Map<string, ParsedNonce>;
  /** `${id}:${verifying share}:${share}` that already passed for this message (not weighed again). */
  verified: Set<string>;
}

// Every message of a ceremony has the same signer set, hence the same Lagrange coefficients
// (t^2 field multiplications per set): kept per set.
const LAMBDA_CACHE_MAX = 64;
const lambdaCache = new Map<string, bigint[]>();

/** All Lagrange coefficients of the message's signer set at once (one inversion), for batch checks. */
function fillLambdas(m: MessageMath): void {
  if (m.lambda.size === m.xs.length) return;
  const setKey = m.xs.map((x) => x.toString(16)).join(',');
  let ls = lambdaCache.get(setKey);
  if (!ls) {
    ls = lagrangeAllAtZero(m.xs);
    if (lambdaCache.size >= LAMBDA_CACHE_MAX) lambdaCache.delete(lambdaCache.keys().next().value!);
    lambdaCache.set(setKey, ls);
  }
  m.xs.forEach((x, i) => m.lambda.set(x.toString(16).padStart(64, '0'), ls[i]));
}

function lambdaOf(m: MessageMath, id: string): bigint {
  let l = m.lambda.get(id);
  if (l === undefined) {
    l = lagrangeAtZero(m.xs, BigInt('0x' + id));
    m.lambda.set(id, l);
  }
  return l;
}

/** Messages of one aggregation whose nonce tables are kept from R to the share check. */
const NONCE_TABLES_MAX = 32;

// Enough for a ceremony's every input (a transaction of several hundred inputs) plus the next one.
const MATH_CACHE_MAX = 1024;
const mathCache = new Map<string, MessageMath>();

/**
 * wNAF tables over one message's nonce commitments, [D_1..D_k, E_1..E_k] in `ids` order, as
 * messageMath built them for R on a cache miss: the share check of the same message walks them
 * again with its own scalars instead of building new ones (aggregateSignatures only; memory).
 */
interface NonceTables {
  ids: string[];
  msm: (scalars: bigint[]) => PointT;
}

function messageMath(
  ctx: TargetCtx,
  lists: Record<string, NonceCommitment[]>,
  parsed: Map<string, ParsedNonce[]>,
  signers: string[],
  i: number,
  message: string,
  keepTables?: { tables?: NonceTables },
): MessageMath {
  const rows = signers.map((s) => ({ id: s, x: BigInt('0x' + s), c: lists[s][i], n: parsed.get(s)![i] })).sort((a, b) => (a.x < b.x ? -1 : a.x > b.x ? 1 : 0));
  // The wire list is canonical (identifiers and points passed strict parsing), so it is the
  // cache key: same key, same list, same message -> same values. The RFC encoding the binding
  // factors hash (compressed points) is derived only on a miss, once per message.
  const cacheKey = bytesToHex(ctx.gpk) + message + rows.map((r) => r.id + r.c.hiding + r.c.binding).join('');
  const hit = mathCache.get(cacheKey);
  if (hit) return hit;
  const encodedHex = rows.map((r) => r.id + compressedOfWire(r.c.hiding) + compressedOfWire(r.c.binding)).join('');
  const msg = hexToBytes(message);
  const rhoPrefix = concatBytes(ctx.gpk, sha256(concatBytes(PREFIX_MSG, msg)), sha256(concatBytes(PREFIX_COM, hexToBytes(encodedHex))));
  const rho = new Map<string, bigint>();
  for (const r of rows) rho.set(r.id, secp256k1_hasher.hashToScalar(concatBytes(rhoPrefix, hexToBytes(r.id)), { DST: DST_RHO }));
  let R: PointT;
  if (keepTables && rows.length >= 8) {
    // R as one walk over [D, E] with scalars [1, rho]: a table addition per D costs what the
    // plain sum does, and the tables serve the share check afterwards.
    const tables: NonceTables = { ids: rows.map((r) => r.id), msm: interleavedMSMUnsafe(Point, [...rows.map((r) => r.n.D), ...rows.map((r) => r.n.E)], 5) };
    R = tables.msm([...rows.map(() => 1n), ...rows.map((r) => rho.get(r.id)!)]);
    keepTables.tables = tables;
  } else {
    let hidingSum = Point.ZERO;
    for (const r of rows) hidingSum = hidingSum.add(r.n.D);
    R = hidingSum.add(msm(rows.map((r) => r.n.E), rows.map((r) => rho.get(r.id)!)));
  }
  if (R.is0()) fail('INVALID_COMMITMENT_LIST', 'group commitment is the identity');
  const Rb = R.toBytes(true);
  const c = Fn.create(BigInt('0x' + bytesToHex(schnorr.utils.taggedHash('BIP0340/challenge', Rb.subarray(1), ctx.gpk.subarray(1), msg))));
  const xs = rows.map((r) => r.x);
  const m: MessageMath = { R, odd: Rb[0] === 0x03, c, rho, xs, lambda: new Map(), nonces: new Map(rows.map((r) => [r.id, r.n])), verified: new Set() };
  if (mathCache.size >= MATH_CACHE_MAX) mathCache.delete(mathCache.keys().next().value!);
  mathCache.set(cacheKey, m);
  return m;
}

/** Round 2: one signature share per target. Consumes the nonces (second use: NONCE_REUSE). */
export function signShares(share: KeyShare, key: EpochKey, nonces: SigningNonces, lists: Record<string, NonceCommitment[]>, targets: SigningTarget[]): string[] {
  if (!(nonces instanceof SigningNonces)) fail('INVALID_INPUT', 'nonces must come from signingCommit');
  if (nonces.used) fail('NONCE_REUSE', 'these signing nonces were already used', [nonces.identifier]);
  if (nonces.identifier !== share.identifier || nonces.epoch !== key.epoch || share.epoch !== key.epoch)
    fail('INVALID_INPUT', 'nonces, share and key belong to different members or epochs');
  validateTargets(targets);
  if (nonces.commitments.length !== targets.length) fail('INVALID_INPUT', `nonces cover ${nonces.commitments.length} messages, got ${targets.length} targets`);
  const signers = Object.keys(lists ?? {});
  const parsed = parseCommitmentLists(key, signers, lists, targets.length);
  const own = lists[share.identifier];
  if (!own) fail('INVALID_COMMITMENT_LIST', 'own commitments are not in the list');
  // The own entries must be the commitments of these nonces (noble checks the same by recomputing them).
  if (own.some((c, i) => c.hiding !== nonces.commitments[i].hiding || c.binding !== nonces.commitments[i].binding))
    fail('INVALID_COMMITMENT_LIST', 'the list carries commitments for this signer that it did not make');
  const sk = keyShareSecret(share);
  const ctxs = targets.map((t) => targetContext(key, t.tweak));
  const maths = targets.map((t, i) => messageMath(ctxs[i], lists, parsed, signers, i, t.message));
  const raw = SigningNonces.consume(nonces);
  const out: string[] = [];
  for (let i = 0; i < targets.length; i++) {
    const m = maths[i];
    // noble signShare: z = d + e*rho + lambda*c*sk, with (d, e) negated when R has odd y.
    let d = Fn.fromBytes(raw[i].hiding);
    let e = Fn.fromBytes(raw[i].binding);
    if (m.odd) {
      d = Fn.neg(d);
      e = Fn.neg(e);
    }
    const skAdj = adjustSecret(ctxs[i], sk);
    const z = Fn.add(Fn.add(d, Fn.mul(e, m.rho.get(share.identifier)!)), Fn.mul(Fn.mul(lambdaOf(m, share.identifier), skAdj), m.c));
    out.push(bytesToHex(Fn.toBytes(z)));
    raw[i].hiding.fill(0);
    raw[i].binding.fill(0);
  }
  return out;
}

// --- share verification -----------------------------------------------------------------
// A share z_i is valid iff (noble verifyShare, secp256k1-TR):
//   z_i G == sR (D_i + rho_i E_i) + c lambda_i Y'_i,   sR = -1 iff R has odd y,
// where Y'_i = sQ (Y_i + delta G) is the verifying share as adjusted for the target (sQ = -1 iff
// the tweaked group key had odd y). Moving the known multiple of G to the left:
//   (z_i - c lambda_i sQ delta) G == sR D_i + sR rho_i E_i + (c lambda_i sQ) Y_i.
// All shares of a message are checked at once with random 128-bit weights a_i (one MSM over
// 3t points); the single-share form names culprits only when the weighted sum fails.
// aggregateSignatures goes one step further (messagesToExamine): all shares of all messages in
// one equation, each Y_i once. Per share the terms carry 128 + 256 + 256 scalar bits (a_i,
// a_i rho_i, a_i c lambda_i); rescaling a share's equation moves bits between its terms but
// keeps the total, so with noble's MSMs this check costs about twice the computation of R.

interface Verifying {
  Y: PointT;
  hex: string;
}

/** Verifying share of `id`, or INVALID_INPUT (the key itself is broken). */
function verifyingPoint(key: EpochKey, id: string): Verifying {
  const hex = key.verifyingShares[id];
  const Y = typeof hex === 'string' ? parseCached(hex) : null;
  if (!Y) fail('INVALID_INPUT', `epoch key has no valid verifying share for ${id}`, [id]);
  return { Y, hex };
}

/** One share on its own (the form noble's verifyShare checks). */
function shareHolds(ctx: TargetCtx, m: MessageMath, { Y, hex }: Verifying, id: string, z: bigint): boolean {
  const n = m.nonces.get(id);
  if (!n) return false;
  const memo = `${id}:${hex}:${z}`;
  if (m.verified.has(memo)) return true;
  const cl = Fn.mul(m.c, lambdaOf(m, id));
  const cls = ctx.odd ? Fn.neg(cl) : cl;
  const g = Fn.sub(z, Fn.mul(cls, ctx.delta));
  const D = m.odd ? n.D.negate() : n.D;
  const E = m.odd ? n.E.negate() : n.E;
  const rhs = msm([D, E, Y], [1n, m.rho.get(id)!, cls]);
  const lhs = g === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(g);
  if (!lhs.equals(rhs)) return false;
  m.verified.add(memo);
  return true;
}

/**
 * All shares of one message at once, with random weights; true iff (w.h.p.) every one holds.
 * Shares that already passed shareHolds for this message (e.g. checked one by one as they
 * arrived in a ceremony) are not weighed again.
 */
function sharesHoldTogether(ctx: TargetCtx, m: MessageMath, items: { id: string; Y: Verifying; z: bigint }[]): boolean {
  const points: PointT[] = [];
  const scalars: bigint[] = [];
  let g = Fn.ZERO;
  fillLambdas(m);
  for (const { id, Y, z } of items) {
    const n = m.nonces.get(id);
    if (!n) return false;
    if (m.verified.has(`${id}:${Y.hex}:${z}`)) continue;
    const a = batchWeight();
    const cl = Fn.mul(m.c, lambdaOf(m, id));
    const cls = ctx.odd ? Fn.neg(cl) : cl;
    g = Fn.add(g, Fn.mul(a, Fn.sub(z, Fn.mul(cls, ctx.delta))));
    // Signs go on the points, so the 128-bit weight on D_i stays short.
    points.push(m.odd ? n.D.negate() : n.D, m.odd ? n.E.negate() : n.E, Y.Y);
    scalars.push(a, Fn.mul(a, m.rho.get(id)!), Fn.mul(a, cls));
  }
  if (points.length === 0) return true;
  const lhs = g === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(g);
  if (!lhs.equals(msm(points, scalars))) return false;
  for (const { id, Y, z } of items) m.verified.add(`${id}:${Y.hex}:${z}`);
  return true;
}

/**
 * aggregateSignatures' default ('each') for all messages at once: every not yet verified share
 * z_mi gets its own random weight a_mi in one equation,
 *   (sum a_mi g_mi) G == sum_m sR_m sum_i a_mi (D_mi + rho_mi E_mi) + sum_i (sum_m a_mi cls_mi) Y_i,
 * where each verifying share Y_i appears once whatever the number of messages, taken from the
 * key's kept tables when it has them (verifying-tables.ts). Holds iff (w.h.p.) every share does.
 * Returns the messages whose shares must then be examined: none when it holds, else every
 * message that had a share in it.
 */
function messagesToExamine(key: EpochKey, ctxs: TargetCtx[], maths: MessageMath[], signers: string[], zs: Map<string, bigint[]>, nonceTables: (NonceTables | undefined)[]): number[] {
  const points: PointT[] = [];
  const scalars: bigint[] = [];
  // D and E terms of the messages whose tables messageMath kept: one walk each, signed afterwards.
  let walked = Point.ZERO;
  const yScalar = new Map<string, bigint>();
  let g = Fn.ZERO;
  const pending: { m: MessageMath; memo: string; i: number }[] = [];
  for (let i = 0; i < maths.length; i++) {
    const m = maths[i];
    const ctx = ctxs[i];
    fillLambdas(m);
    const nt = nonceTables[i];
    const at = nt ? new Map(nt.ids.map((id, j) => [id, j])) : undefined;
    const walk: bigint[] | undefined = nt ? new Array(2 * nt.ids.length).fill(Fn.ZERO) : undefined;
    for (const id of signers) {
      const n = m.nonces.get(id)!;
      // A memo names the verifying share it passed with (which parsed then); a pending share's
      // own is parsed, or refused, below.
      const z = zs.get(id)![i];
      const memo = `${id}:${key.verifyingShares[id]}:${z}`;
      if (m.verified.has(memo)) continue;
      const a = batchWeight();
      const cl = Fn.mul(m.c, lambdaOf(m, id));
      const cls = ctx.odd ? Fn.neg(cl) : cl;
      g = Fn.add(g, Fn.mul(a, Fn.sub(z, Fn.mul(cls, ctx.delta))));
      if (walk) {
        const j = at!.get(id)!;
        walk[j] = a;
        walk[nt!.ids.length + j] = Fn.mul(a, m.rho.get(id)!);
      } else {
        // Signs go on the points, so the 128-bit weight on D stays short.
        points.push(m.odd ? n.D.negate() : n.D, m.odd ? n.E.negate() : n.E);
        scalars.push(a, Fn.mul(a, m.rho.get(id)!));
      }
      yScalar.set(id, Fn.add(yScalar.get(id) ?? Fn.ZERO, Fn.mul(a, cls)));
      pending.push({ m, memo, i });
    }
    if (walk && walk.some((x) => x !== Fn.ZERO)) {
      const part = nt!.msm(walk);
      walked = walked.add(m.odd ? part.negate() : part);
    }
  }
  if (pending.length === 0) return [];
  const table = verifyingTableFor(key, maths.length);
  let rhs: PointT;
  if (table && [...yScalar.keys()].every((id) => table.index.has(id))) {
    const ys: bigint[] = new Array(table.points.length).fill(Fn.ZERO);
    for (const [id, y] of yScalar) ys[table.index.get(id)!] = y;
    rhs = msm(points, scalars).add(table.msm(ys)).add(walked);
  } else {
    for (const [id, y] of yScalar) {
      points.push(verifyingPoint(key, id).Y);
      scalars.push(y);
    }
    rhs = msm(points, scalars).add(walked);
  }
  const lhs = g === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(g);
  if (lhs.equals(rhs)) {
    for (const p of pending) p.m.verified.add(p.memo);
    return [];
  }
  return [...new Set(pending.map((p) => p.i))];
}

function parseShares(shares: unknown, count: number): bigint[] | null {
  if (!Array.isArray(shares) || shares.length !== count) return null;
  const out: bigint[] = [];
  for (const z of shares) {
    const v = tryScalar(z, true);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

/**
 * Precomputes the per-message values once, then checks any signer's shares cheaply. Use it when
 * shares arrive one by one (each call is O(1) point work instead of noble's O(t)).
 */
export function createShareVerifier(key: EpochKey, lists: Record<string, NonceCommitment[]>, targets: SigningTarget[]): (from: string, shares: string[]) => boolean {
  validateTargets(targets);
  const signers = Object.keys(lists ?? {});
  const parsed = parseCommitmentLists(key, signers, lists, targets.length);
  const ctxs = targets.map((t) => targetContext(key, t.tweak));
  const maths = targets.map((t, i) => messageMath(ctxs[i], lists, parsed, signers, i, t.message));
  return (from, shares) => {
    if (!signers.includes(from)) return false;
    const zs = parseShares(shares, targets.length);
    if (!zs) return false;
    const Y = verifyingPoint(key, from);
    return signerHoldsEverywhere(ctxs, maths, Y, from, zs);
  };
}

/**
 * One signer's shares for every message at once. Its verifying share Y is the same point in
 * every message's equation, so with random weights a_m the checks collapse into
 *   (sum a_m g_m) G == sum a_m sR_m D_m + a_m sR_m rho_m E_m + (sum a_m c_m lambda_m sQ_m) Y,
 * one MSM over 2M+1 points instead of M three-point MSMs. A failure needs no per-message
 * fallback: the culprit is this signer either way.
 */
function signerHoldsEverywhere(ctxs: TargetCtx[], maths: MessageMath[], Yv: Verifying, id: string, zs: bigint[]): boolean {
  if (zs.length === 1) return shareHolds(ctxs[0], maths[0], Yv, id, zs[0]);
  const points: PointT[] = [];
  const scalars: bigint[] = [];
  let g = Fn.ZERO;
  let y = Fn.ZERO;
  const pending: number[] = [];
  for (let i = 0; i < zs.length; i++) {
    const m = maths[i];
    const n = m.nonces.get(id);
    if (!n) return false;
    if (m.verified.has(`${id}:${Yv.hex}:${zs[i]}`)) continue;
    const ctx = ctxs[i];
    const a = batchWeight();
    const cl = Fn.mul(m.c, lambdaOf(m, id));
    const cls = ctx.odd ? Fn.neg(cl) : cl;
    g = Fn.add(g, Fn.mul(a, Fn.sub(zs[i], Fn.mul(cls, ctx.delta))));
    y = Fn.add(y, Fn.mul(a, cls));
    points.push(m.odd ? n.D.negate() : n.D, m.odd ? n.E.negate() : n.E);
    scalars.push(a, Fn.mul(a, m.rho.get(id)!));
    pending.push(i);
  }
  if (pending.length === 0) return true;
  points.push(Yv.Y);
  scalars.push(y);
  const lhs = g === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(g);
  if (!lhs.equals(msm(points, scalars))) return false;
  for (const i of pending) maths[i].verified.add(`${id}:${Yv.hex}:${zs[i]}`);
  return true;
}

/** True iff `shares` (one per target) from `from` are valid for these commitment lists. */
export function verifySignatureShares(key: EpochKey, lists: Record<string, NonceCommitment[]>, targets: SigningTarget[], from: string, shares: string[]): boolean {
  return createShareVerifier(key, lists, targets)(from, shares);
}

export interface AggregateOptions {
  /**
   * 'each' (default): every share is verified before aggregating (one random-weight batch per
   * message, one by one only to name senders), so even shares whose errors cancel in the sum are
   * caught and named. 'sum': RFC 9591 section 5.3 style, as noble's aggregate(): the aggregated
   * signature is verified and shares are checked one by one only when it fails. Cheaper by the
   * batch check, but two colluding signers whose bad shares cancel go unnamed (the signature is
   * still valid). Shares already verified one by one (verifySignatureShares / createShareVerifier
   * on the same lists) are not weighed again in either mode.
   */
  shareCheck?: 'each' | 'sum';
}

/**
 * Verifies the shares (INVALID_SIGNATURE_SHARE naming each bad sender, see AggregateOptions),
 * aggregates, and checks each result with BIP340 verify against the (tweaked) output key.
 * Returns the 64-byte signature hex per target: noble's aggregate(), x(R) || sum z_i.
 */
export function aggregateSignatures(key: EpochKey, lists: Record<string, NonceCommitment[]>, targets: SigningTarget[], shares: Record<string, string[]>, opts: AggregateOptions = {}): string[] {
  const mode = opts.shareCheck ?? 'each';
  if (mode !== 'each' && mode !== 'sum') fail('INVALID_INPUT', `shareCheck must be 'each' or 'sum', got ${String(mode)}`);
  validateTargets(targets);
  const signers = Object.keys(lists ?? {});
  const parsed = parseCommitmentLists(key, signers, lists, targets.length);
  if (!shares || typeof shares !== 'object') fail('INVALID_INPUT', 'shares must be an object');
  const extra = Object.keys(shares).filter((s) => !signers.includes(s));
  if (extra.length) fail('UNKNOWN_PARTICIPANT', 'signature shares from outside the signer set', extra);
  const missing = signers.filter((s) => !Object.prototype.hasOwnProperty.call(shares, s));
  if (missing.length) fail('MISSING_PACKAGE', 'signature shares missing', missing);
  const zs = new Map<string, bigint[]>();
  const malformed: string[] = [];
  for (const s of signers) {
    const v = parseShares(shares[s], targets.length);
    if (v === null) malformed.push(s);
    else zs.set(s, v);
  }
  if (malformed.length) fail('INVALID_SIGNATURE_SHARE', `each signer must send ${targets.length} canonical scalars`, malformed);
  const ctxs = targets.map((t) => targetContext(key, t.tweak));
  // 'each' on a cache miss: messageMath keeps the nonce tables it builds for R for the share
  // check (up to NONCE_TABLES_MAX messages: ~0.2 MB each at t = 67).
  const kept = targets.map((_, i) => (mode === 'each' && i < NONCE_TABLES_MAX ? {} : undefined)) as ({ tables?: NonceTables } | undefined)[];
  const maths = targets.map((t, i) => messageMath(ctxs[i], lists, parsed, signers, i, t.message, kept[i]));
  let Ys: Map<string, Verifying> | undefined;
  const items = (i: number) => {
    Ys ??= new Map(signers.map((s) => [s, verifyingPoint(key, s)]));
    return signers.map((s) => ({ id: s, Y: Ys!.get(s)!, z: zs.get(s)![i] }));
  };
  const bad = new Set<string>();
  const nameCulprits = (i: number) => {
    for (const it of items(i)) if (!shareHolds(ctxs[i], maths[i], it.Y, it.id, it.z)) bad.add(it.id);
  };
  if (mode === 'each') {
    // One equation for every share of every message; only if it fails, message by message (when
    // there are several) and then share by share, to name the senders.
    const suspects = messagesToExamine(key, ctxs, maths, signers, zs, kept.map((k) => k?.tables));
    kept.fill(undefined);
    const failing = suspects.length > 1 ? suspects.filter((i) => !sharesHoldTogether(ctxs[i], maths[i], items(i))) : suspects;
    for (const i of failing) nameCulprits(i);
  }
  if (bad.size) fail('INVALID_SIGNATURE_SHARE', 'signature share does not verify', signers.filter((s) => bad.has(s)));
  const out: string[] = [];
  const failed: number[] = [];
  for (let i = 0; i < targets.length; i++) {
    let z = Fn.ZERO;
    for (const s of signers) z = Fn.add(z, zs.get(s)![i]);
    const sig = concatBytes(maths[i].R.toBytes(true).subarray(1), Fn.toBytes(z));
    if (!schnorr.verify(sig, hexToBytes(targets[i].message), hexToBytes(ctxs[i].outputKey))) failed.push(i);
    out.push(bytesToHex(sig));
  }
  if (failed.length && mode === 'sum') for (const i of failed) nameCulprits(i);
  if (bad.size) fail('INVALID_SIGNATURE_SHARE', 'signature share does not verify', signers.filter((s) => bad.has(s)));
  // Every share verified, so a failure here means the set itself cannot sign (e.g. fewer
  // shares than the key's real threshold): no single culprit.
  if (failed.length) fail('INVALID_SIGNATURE', 'aggregated signature fails BIP340 verification');
  return out;
}

/** BIP340 verify (noble schnorr.verify); false for malformed input instead of throwing. */
export function verifyBip340(signature: string, message: string, xOnlyKey: string): boolean {
  if (!isHex(signature, 64) || !isHex(message) || !isHex(xOnlyKey, 32)) return false;
  try {
    return schnorr.verify(hexToBytes(signature), hexToBytes(message), hexToBytes(xOnlyKey));
  } catch {
    return false;
  }
}
