// Distributed key generation with blame, on noble's schnorr_FROST.DKG (round 1) and noble's
// Point/Fn (rounds 2 and 3).
//
// noble's DKG.round2/round3 throw anonymous errors ("invalid proof of knowledge") and check one
// package at a time: at 67-of-100 that is 99 proofs, 99 67-term Feldman checks and 100 67-term
// verifying-share evaluations, each an MSM with 256-bit scalars. Here every package is checked
// first and each failure names its culprit; the checks are batched (random linear combinations
// with CSPRNG weights, per-item checks only to name culprits) and commitments are evaluated at
// the small integer identifiers by Horner / forward differences (poly.ts). Rounds 2 and 3 then
// restate noble's arithmetic (polynomial evaluation, share sum, merged commitment, verifying
// shares, the empty-root TapTweak of adjustDKG); test/crypto/differential-dkg.test.ts checks
// that the result is byte-identical to noble's DKG.round2/round3 on the same round-1 packages.
// The group key is the Taproot output key Q; the internal key P is the sum of all commitment[0].
//
// Deviation from notes/crypto-api.md: `committee` accepts CommitteeMember records as well as
// strings (see normalizeCommittee), and `self` may be the identifier or the peer id.
import { createHash } from 'node:crypto';
import { secp256k1_hasher } from '@noble/curves/secp256k1.js';
import type { Network } from '../chain/types.js';
import { MetanodeError } from '../util/errors.js';
import { findMember, normalizeCommittee, peerIdsOf } from './identifiers.js';
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
  lp,
  Point,
  pointHex,
  type PointT,
  pointsHex,
  tryIdentifier,
  tryScalar,
  tryWirePoint,
  utf8,
  wireHex,
  xOnlyHex,
} from './internal.js';
import { evalCommitment, evalCommitmentMany, msm, sumPoints } from './poly.js';
import { tapTweakScalar, taprootOutputKey } from './taproot.js';
import type { CommitteeMember, EpochKey, KeyShare } from './types.js';

/**
 * Wire form of a round-1 package. Points travel uncompressed (65 bytes, internal.ts
 * tryWirePoint): every member parses n*t of them, and a compressed point costs a square root.
 * The proof of knowledge is noble's (R, z) with R as a full even-y point instead of its x
 * coordinate; the challenge still hashes the RFC encodings (compressed phi and R), so proofs are
 * noble's proofs byte for byte (dkgRound1FromNoble converts).
 */
export interface DkgRound1Package {
  identifier: string;
  /** Feldman commitment to the dealer's polynomial: threshold uncompressed points (65-byte hex). */
  commitment: string[];
  /** Proof of knowledge of commitment[0]'s discrete log: R (65-byte uncompressed, even y) || z (32 bytes), hex. */
  proofOfKnowledge: string;
}

/** noble's round-1 public package (33-byte points, 64-byte proof) in the wire form above. */
export function dkgRound1FromNoble(pub: { identifier: string; commitment: Uint8Array[]; proofOfKnowledge: Uint8Array }): DkgRound1Package {
  const commitment = pub.commitment.map((c) => wireHex(Point.fromBytes(c)));
  const proof = bytesToHex(pub.proofOfKnowledge);
  const R = Point.fromHex('02' + proof.slice(0, 64)); // noble's R is x-only with even y
  return { identifier: pub.identifier, commitment, proofOfKnowledge: wireHex(R) + proof.slice(64) };
}

export interface DkgRound2Package {
  from: string;
  to: string;
  signingShare: string;
}

export interface DkgParams {
  /** Own identifier or peer id. */
  self: string;
  /** Committee in seniority order. */
  committee: ReadonlyArray<string | CommitteeMember>;
  threshold: number;
  epoch: number;
  network: Network;
}

const NETWORKS: ReadonlySet<string> = new Set(['regtest', 'testnet', 'signet', 'mainnet']);

type NobleDkgSecret = ReturnType<typeof frost.DKG.round1>['secret'];

/** Opaque in-memory DKG state. The polynomial lives in a private field and is never serialized. */
export class DkgSession {
  readonly self: CommitteeMember;
  readonly committee: CommitteeMember[];
  readonly threshold: number;
  readonly epoch: number;
  readonly network: Network;
  readonly round1: DkgRound1Package;
  #secret: NobleDkgSecret;
  #step: 1 | 2 | 3 = 1;
  #parsed: ParsedRound1[] | undefined;

  constructor(p: { self: CommitteeMember; committee: CommitteeMember[]; threshold: number; epoch: number; network: Network; round1: DkgRound1Package; secret: NobleDkgSecret }) {
    this.self = p.self;
    this.committee = p.committee;
    this.threshold = p.threshold;
    this.epoch = p.epoch;
    this.network = p.network;
    this.round1 = p.round1;
    this.#secret = p.secret;
  }

  /** Internal accessors for this module only (kept off the JSON surface). */
  static secretOf(s: DkgSession): NobleDkgSecret {
    return s.#secret;
  }
  static stepOf(s: DkgSession): 1 | 2 | 3 {
    return s.#step;
  }
  static advance(s: DkgSession, step: 2 | 3, parsed?: ParsedRound1[]): void {
    s.#step = step;
    s.#parsed = parsed;
  }
  /** Round-1 packages as validated and parsed in dkgRound2 (reused by dkgFinish). */
  static parsedOf(s: DkgSession): ParsedRound1[] | undefined {
    return s.#parsed;
  }
  toJSON(): Record<string, unknown> {
    return { self: this.self, epoch: this.epoch, network: this.network, threshold: this.threshold, step: this.#step };
  }
}

function validateParams(p: DkgParams): { committee: CommitteeMember[]; self: CommitteeMember } {
  if (!p || typeof p !== 'object') fail('INVALID_INPUT', 'dkg params missing');
  if (!NETWORKS.has(p.network)) fail('INVALID_INPUT', `unknown network ${String(p.network)}`);
  if (!Number.isSafeInteger(p.epoch) || p.epoch < 0) fail('INVALID_INPUT', `epoch must be a non-negative integer`);
  const committee = normalizeCommittee(p.committee);
  const n = committee.length;
  if (n < 2) fail('INVALID_INPUT', `committee needs at least 2 members, got ${n}`);
  if (!Number.isSafeInteger(p.threshold) || p.threshold < 2 || p.threshold > n)
    fail('INVALID_INPUT', `threshold must be in [2, ${n}], got ${p.threshold}`);
  const self = findMember(committee, p.self);
  if (!self) fail('INVALID_INPUT', `self ${p.self} is not in the committee`);
  return { committee, self };
}

export function dkgStart(params: DkgParams): { session: DkgSession; round1: DkgRound1Package } {
  const { committee, self } = validateParams(params);
  const { public: pub, secret } = frost.DKG.round1(self.identifier, { min: params.threshold, max: committee.length });
  const round1 = dkgRound1FromNoble(pub);
  const session = new DkgSession({ self, committee, threshold: params.threshold, epoch: params.epoch, network: params.network, round1, secret });
  return { session, round1 };
}

const POK_DST = utf8('FROST-secp256k1-SHA256-TR-v1dkg');

interface ParsedProof {
  /** Lifted even-y nonce point R and response z. */
  R: PointT;
  z: bigint;
  /** Challenge c = H_dkg(id || phi || R). */
  c: bigint;
}

/**
 * Parses a wire proof (R uncompressed with even y || z) and computes its challenge over the RFC
 * encodings (id || compressed phi || compressed R, as noble hashes them); null when invalid.
 */
function parseProof(id: bigint, phiCompressed: Uint8Array, proofHex: string): ParsedProof | null {
  if (!isHex(proofHex, 97)) return null;
  const Rwire = proofHex.slice(0, 130);
  const R = tryWirePoint(Rwire);
  const z = tryScalar(proofHex.slice(130), true);
  if (!R || z === null) return null;
  const Rc = compressedOfWire(Rwire);
  if (Rc[1] !== '2') return null; // noble's (BIP340-style) nonce point has even y
  const msg = new Uint8Array(32 + phiCompressed.length + 33);
  msg.set(Fn.toBytes(id), 0);
  msg.set(phiCompressed, 32);
  msg.set(hexToBytes(Rc), 32 + phiCompressed.length);
  return { R, z, c: secp256k1_hasher.hashToScalar(msg, { DST: POK_DST }) };
}

/** One proof on its own: R == z*G - c*phi. */
function proofHolds(phi: PointT, p: ParsedProof): boolean {
  // z*G + (n - c)*phi; mulAddUnsafe rejects zero scalars, so handle z = 0 explicitly.
  const lhs = p.z === 0n ? phi.multiplyUnsafe(Fn.neg(p.c)) : Point.BASE.mulAddUnsafe(p.z, phi, Fn.neg(p.c));
  return lhs.equals(p.R);
}

/**
 * noble's ProofOfKnowledge.validate, restated so a failure can name its sender:
 * proof = x(R) || z with R even-y; valid iff R == z*G - c*phi, c = H_dkg(id || phi || R).
 */
export function checkProofOfKnowledge(identifier: string, commitment0: PointT, proofHex: string): boolean {
  const id = tryIdentifier(identifier);
  if (id === null) return false;
  const p = parseProof(id, commitment0.toBytes(true), proofHex);
  return p !== null && proofHolds(commitment0, p);
}

/**
 * All proofs at once: sum_j a_j (R_j + c_j phi_j) == (sum_j a_j z_j) G with random 128-bit a_j.
 * A single bad proof (or any set of them) makes it fail except with probability 2^-128.
 */
function proofsHoldTogether(items: { phi: PointT; p: ParsedProof }[]): boolean {
  const points: PointT[] = [];
  const scalars: bigint[] = [];
  let zsum = Fn.ZERO;
  for (const { phi, p } of items) {
    const a = batchWeight();
    points.push(p.R, phi);
    scalars.push(a, Fn.mul(a, p.c));
    zsum = Fn.add(zsum, Fn.mul(a, p.z));
  }
  const rhs = zsum === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(zsum);
  return msm(points, scalars).equals(rhs);
}

interface ParsedRound1 {
  identifier: string;
  id: bigint;
  points: PointT[];
  /** The package's wire fields as validated (copied: the caller's objects may change later). */
  pkg: { commitment: string[]; proofOfKnowledge: string };
}

function throwIf(code: ConstructorParameters<typeof MetanodeError>[0], what: string, culprits: string[], committee: CommitteeMember[]): void {
  if (culprits.length) fail(code, what, culprits, { peerIds: peerIdsOf(committee, culprits) });
}

/**
 * Checks a full round-1 list (self included) against the committee and threshold; each failure
 * class names every culprit in it. Returns the parsed packages in committee order.
 */
export function validateRound1(committee: CommitteeMember[], threshold: number, round1: DkgRound1Package[]): ParsedRound1[] {
  if (!Array.isArray(round1)) fail('INVALID_INPUT', 'round1 must be an array of packages');
  const members = new Set(committee.map((m) => m.identifier));
  const malformed: string[] = [];
  const badId: string[] = [];
  const unknown: string[] = [];
  const dup: string[] = [];
  const byId = new Map<string, DkgRound1Package>();
  for (const p of round1) {
    const ident = p && typeof p === 'object' && typeof p.identifier === 'string' ? p.identifier : undefined;
    if (ident === undefined) {
      malformed.push(String((p as { identifier?: unknown })?.identifier ?? '?'));
      continue;
    }
    if (tryIdentifier(ident) === null) {
      badId.push(ident);
      continue;
    }
    if (!members.has(ident)) {
      unknown.push(ident);
      continue;
    }
    if (byId.has(ident)) {
      if (!dup.includes(ident)) dup.push(ident);
      continue;
    }
    if (!Array.isArray(p.commitment) || typeof p.proofOfKnowledge !== 'string') {
      malformed.push(ident);
      continue;
    }
    byId.set(ident, p);
  }
  throwIf('INVALID_IDENTIFIER', 'round-1 package with a zero or non-canonical identifier', badId, committee);
  throwIf('UNKNOWN_PARTICIPANT', 'round-1 package from outside the committee', unknown, committee);
  throwIf('DUPLICATE_IDENTIFIER', 'more than one round-1 package for an identifier', dup, committee);
  throwIf('INVALID_MESSAGE', 'malformed round-1 package', malformed, committee);
  const missing = committee.filter((m) => !byId.has(m.identifier)).map((m) => m.identifier);
  throwIf('MISSING_PACKAGE', 'round-1 package missing', missing, committee);

  const wrongLen = committee.filter((m) => byId.get(m.identifier)!.commitment.length !== threshold).map((m) => m.identifier);
  throwIf('INCORRECT_COMMITMENT_LENGTH', `commitment must have exactly ${threshold} points`, wrongLen, committee);

  const parsed: ParsedRound1[] = [];
  const badPoints: string[] = [];
  for (const m of committee) {
    const pkg = byId.get(m.identifier)!;
    const points: PointT[] = [];
    let ok = true;
    for (const c of pkg.commitment) {
      const pt = tryWirePoint(c);
      if (!pt) {
        ok = false;
        break;
      }
      points.push(pt);
    }
    if (!ok) badPoints.push(m.identifier);
    else parsed.push({ identifier: m.identifier, id: tryIdentifier(m.identifier)!, points, pkg: { commitment: [...pkg.commitment], proofOfKnowledge: pkg.proofOfKnowledge } });
  }
  throwIf('INVALID_COMMITMENT', 'commitment contains a point that is not a valid uncompressed (65-byte 04||x||y) curve point, or the identity', badPoints, committee);

  // Proofs: unparseable ones are named at once; the rest are checked together and, only if that
  // fails, one by one to name the senders.
  const badPok: string[] = [];
  const proofs: { phi: PointT; p: ParsedProof; identifier: string }[] = [];
  for (const p of parsed) {
    const proof = parseProof(p.id, hexToBytes(compressedOfWire(p.pkg.commitment[0])), p.pkg.proofOfKnowledge);
    if (proof === null) badPok.push(p.identifier);
    else proofs.push({ phi: p.points[0], p: proof, identifier: p.identifier });
  }
  if (!proofsHoldTogether(proofs)) for (const x of proofs) if (!proofHolds(x.phi, x.p)) badPok.push(x.identifier);
  const order = new Map(committee.map((m, i) => [m.identifier, i]));
  badPok.sort((a, b) => order.get(a)! - order.get(b)!);
  throwIf('INVALID_PROOF_OF_KNOWLEDGE', 'proof of knowledge does not verify', badPok, committee);
  return parsed;
}

/** sha256 over the canonical encoding (sorted by identifier) of a round-1 list, for the echo step. */
export function dkgTranscriptHash(round1: DkgRound1Package[]): string {
  if (!Array.isArray(round1)) fail('INVALID_INPUT', 'round1 must be an array');
  const sorted = [...round1].sort((a, b) => (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0));
  // Built as one hex string and converted once (n*t points: per-field byte arrays cost more than
  // the hash). Each field is lp(bytes): a 4-byte big-endian length, then the bytes.
  const lpHex = (h: string) => (h.length / 2).toString(16).padStart(8, '0') + h;
  const parts: string[] = [bytesToHex(utf8('metanode/dkg-transcript/v1'))];
  for (const p of sorted) {
    if (!isHex(p.identifier) || !Array.isArray(p.commitment) || !isHex(p.proofOfKnowledge) || !p.commitment.every((c) => isHex(c)))
      fail('INVALID_MESSAGE', 'round-1 package fields must be hex', typeof p.identifier === 'string' ? [p.identifier] : []);
    parts.push(lpHex(p.identifier), lpHex((p.commitment.length & 0xff).toString(16).padStart(2, '0')));
    for (const c of p.commitment) parts.push(lpHex(c));
    parts.push(lpHex(p.proofOfKnowledge));
  }
  // node's sha256 decodes the (validated) hex itself: 6-7x faster than converting in JS and
  // hashing with noble at n = 100, same digest.
  return createHash('sha256').update(parts.join(''), 'hex').digest('hex');
}

function checkOwnPackage(session: DkgSession, parsed: ParsedRound1[]): void {
  const own = parsed.find((p) => p.identifier === session.self.identifier)!;
  const mine = session.round1;
  if (own.pkg.proofOfKnowledge !== mine.proofOfKnowledge || own.pkg.commitment.some((c, i) => c !== mine.commitment[i]))
    fail('INVALID_INPUT', 'the round-1 list carries a package for self that is not the one this node made');
}

/** f(x) for the dealer's polynomial (coefficients low to high), Horner in Fn: noble's polynomialEvaluate. */
function evalPolynomial(coefficients: bigint[], x: bigint): bigint {
  let acc = Fn.ZERO;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = Fn.add(Fn.mul(acc, x), coefficients[k]);
  return acc;
}

/** Validates all round-1 packages (blaming culprits) and returns one share package per other member. */
export function dkgRound2(session: DkgSession, round1: DkgRound1Package[]): DkgRound2Package[] {
  if (!(session instanceof DkgSession)) fail('INVALID_INPUT', 'not a DkgSession');
  if (DkgSession.stepOf(session) !== 1) fail('INVALID_INPUT', 'dkgRound2 already ran for this session');
  const parsed = validateRound1(session.committee, session.threshold, round1);
  checkOwnPackage(session, parsed);
  const coefficients = DkgSession.secretOf(session).coefficients;
  if (!coefficients || coefficients.length !== session.threshold) fail('INVALID_INPUT', 'DKG session has no polynomial left');
  DkgSession.advance(session, 2, parsed);
  // noble's round2 computes exactly these: Fn.toBytes(f(x_j)) for every other member j.
  return parsed
    .filter((p) => p.identifier !== session.self.identifier)
    .map((p) => ({ from: session.self.identifier, to: p.identifier, signingShare: bytesToHex(Fn.toBytes(evalPolynomial(coefficients, p.id))) }));
}

export interface FeldmanItem {
  dealer: string;
  share: bigint;
  commitment: PointT[];
}

/**
 * Cheap check of all shares sent to `x` at once: (sum_j s_j) G == C(x) with C = sum_j C_j.
 * One commitment evaluation plus n*t additions. Any single bad share (or several that do not
 * cancel out) fails it; shares crafted to cancel pass it, which is why dkgFinish and
 * feldmanCulprits weigh each dealer with a random factor instead.
 */
export function feldmanSumCheck(x: bigint, items: FeldmanItem[]): boolean {
  if (items.length === 0) return true;
  const len = Math.max(...items.map((it) => it.commitment.length));
  const summed: PointT[] = Array.from({ length: len }, () => Point.ZERO);
  let total = Fn.ZERO;
  for (const it of items) {
    total = Fn.add(total, it.share);
    it.commitment.forEach((c, k) => (summed[k] = summed[k].add(c)));
  }
  const got = total === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(total);
  return evalCommitment(summed, x).equals(got);
}

/**
 * The dealers whose share s_j has s_j G != C_j(x). Each C_j(x) is evaluated once (Horner at a
 * small x); all dealers are then checked together, sum_j a_j s_j G == sum_j a_j C_j(x) with
 * random 128-bit a_j (a bad share escapes with probability 2^-128, also when bad shares were
 * made to cancel in the plain sum), and only when that fails one by one to name them.
 */
export function feldmanCulprits(x: bigint, items: FeldmanItem[]): string[] {
  if (items.length === 0) return [];
  const evaluated = items.map((it) => evalCommitment(it.commitment, x));
  const weights = items.map(() => batchWeight());
  let total = Fn.ZERO;
  items.forEach((it, i) => (total = Fn.add(total, Fn.mul(weights[i], it.share))));
  const got = total === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(total);
  if (msm(evaluated, weights).equals(got)) return [];
  const bad: string[] = [];
  items.forEach((it, i) => {
    const own = it.share === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(it.share);
    if (!evaluated[i].equals(own)) bad.push(it.dealer);
  });
  return bad;
}

/**
 * Whether `round1` holds exactly the packages validated in dkgRound2, in any order: the same
 * identifiers, each once, with the same commitment and proof strings. The order-free equality
 * that comparing dkgTranscriptHash values gives, by string comparison instead of re-encoding
 * and hashing n*t points.
 */
function sameRound1(round1: unknown, parsed: ParsedRound1[]): boolean {
  if (!Array.isArray(round1) || round1.length !== parsed.length) return false;
  const byId = new Map<unknown, unknown>();
  for (const p of round1) {
    const id = p && typeof p === 'object' ? (p as { identifier?: unknown }).identifier : undefined;
    if (byId.has(id)) return false;
    byId.set(id, p);
  }
  return parsed.every((want) => {
    const got = byId.get(want.identifier) as Partial<DkgRound1Package> | undefined;
    if (!got || got.proofOfKnowledge !== want.pkg.proofOfKnowledge) return false;
    const c = got.commitment;
    return Array.isArray(c) && c.length === want.pkg.commitment.length && c.every((x, i) => x === want.pkg.commitment[i]);
  });
}

/** Validates the shares sent to this member (blaming bad dealers) and computes the epoch key. */
export function dkgFinish(session: DkgSession, round1: DkgRound1Package[], round2ForMe: DkgRound2Package[]): { key: EpochKey; share: KeyShare } {
  if (!(session instanceof DkgSession)) fail('INVALID_INPUT', 'not a DkgSession');
  if (DkgSession.stepOf(session) !== 2) fail('INVALID_INPUT', 'dkgFinish needs a session after dkgRound2, and runs once');
  const committee = session.committee;
  const me = session.self.identifier;
  // Same round-1 packages as in dkgRound2, so their validated, parsed form is reused.
  const parsed = DkgSession.parsedOf(session)!;
  if (!sameRound1(round1, parsed)) fail('INVALID_INPUT', 'round-1 transcript differs from the one used in dkgRound2');
  if (!Array.isArray(round2ForMe)) fail('INVALID_INPUT', 'round2 must be an array of packages');

  const members = new Set(committee.map((m) => m.identifier));
  const unknown: string[] = [];
  const misaddressed: string[] = [];
  const dup: string[] = [];
  const badShare: string[] = [];
  const shares = new Map<string, bigint>();
  for (const p of round2ForMe) {
    const from = p && typeof p === 'object' && typeof p.from === 'string' ? p.from : '?';
    if (!members.has(from) || from === me) {
      unknown.push(from);
      continue;
    }
    if (p.to !== me) {
      misaddressed.push(from);
      continue;
    }
    if (shares.has(from)) {
      if (!dup.includes(from)) dup.push(from);
      continue;
    }
    const s = tryScalar(p.signingShare, true);
    if (s === null) {
      badShare.push(from);
      continue;
    }
    shares.set(from, s);
  }
  throwIf('UNKNOWN_PARTICIPANT', 'round-2 package from outside the committee', unknown, committee);
  throwIf('INVALID_MESSAGE', 'round-2 package addressed to another member', misaddressed, committee);
  throwIf('DUPLICATE_IDENTIFIER', 'more than one round-2 package from a member', dup, committee);
  throwIf('INVALID_SECRET_SHARE', 'round-2 share is not a canonical scalar', badShare, committee);
  const missing = committee.filter((m) => m.identifier !== me && !shares.has(m.identifier) && !badShare.includes(m.identifier)).map((m) => m.identifier);
  throwIf('MISSING_PACKAGE', 'round-2 package missing', missing, committee);

  const x = tryIdentifier(me)!;
  const items = parsed
    .filter((p) => p.identifier !== me)
    .map((p) => ({ dealer: p.identifier, share: shares.get(p.identifier)!, commitment: p.points }));
  throwIf('INVALID_SECRET_SHARE', 'share does not match its sender\'s commitment', feldmanCulprits(x, items), committee);

  const secret = DkgSession.secretOf(session);
  const coefficients = secret.coefficients;
  if (!coefficients) fail('INVALID_INPUT', 'DKG session has no polynomial left');
  // noble round3: own share = own f(x) + every received share; merged commitment = sum of all
  // commitments; verifying share of each member = merged commitment evaluated at its identifier.
  let s = evalPolynomial(coefficients, x);
  for (const it of items) s = Fn.add(s, it.share);
  const merged: PointT[] = [];
  for (let k = 0; k < session.threshold; k++) merged.push(sumPoints(parsed.map((p) => p.points[k])));
  const internal = merged[0];
  if (internal.is0()) fail('GROUP_KEY_MISMATCH', 'the commitments sum to the identity group key');
  let verifying = evalCommitmentMany(merged, parsed.map((p) => p.id));
  // noble adjustDKG: even-y normalization of the merged key (negating every commitment, verifying
  // share and the secret), then the BIP341 empty-root TapTweak t: Q = P' + tG, Y_i' + tG, s' + t.
  let tweaked = merged;
  if (!hasEvenY(internal)) {
    tweaked = merged.map((c) => c.negate());
    verifying = verifying.map((v) => v.negate());
    s = Fn.neg(s);
  }
  const t = tapTweakScalar(xOnlyHex(internal), '');
  const tG = Point.BASE.multiply(t);
  tweaked = [tweaked[0].add(tG), ...tweaked.slice(1)];
  verifying = verifying.map((v) => v.add(tG));
  s = Fn.add(s, t);
  if (verifying.some((v) => v.is0()) || tweaked.some((c) => c.is0()))
    fail('GROUP_KEY_MISMATCH', 'the summed commitments give an identity commitment or verifying share');

  const commitments = pointsHex(tweaked);
  const outputKey = commitments[0].slice(2);
  const internalKey = xOnlyHex(internal);
  if (taprootOutputKey(internalKey).outputKey !== outputKey)
    fail('SHARE_INCONSISTENCY', 'group key is not the TapTweak of the sum of commitments');
  const vsHex = pointsHex(verifying);
  const verifyingShares: Record<string, string> = {};
  parsed.forEach((p, i) => (verifyingShares[p.identifier] = vsHex[i]));
  const share: KeyShare = { epoch: session.epoch, identifier: me, signingShare: bytesToHex(Fn.toBytes(s)) };
  if (s === 0n || pointHex(Point.BASE.multiply(s)) !== verifyingShares[me])
    fail('SHARE_INCONSISTENCY', 'own signing share does not match own verifying share');
  frost.DKG.clean(secret);
  DkgSession.advance(session, 3);
  const key: EpochKey = {
    epoch: session.epoch,
    network: session.network,
    outputKey,
    internalKey,
    threshold: session.threshold,
    committee: committee.map((m) => ({ ...m })),
    verifyingShares,
    commitments,
  };
  return { key, share };
}
