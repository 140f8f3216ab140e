// FROST signing sessions over noble's schnorr_FROST: one session signs several messages (one per
// transaction input), with one nonce pair per message.
//
// - Nonces live only in memory inside SigningNonces (private fields, not serializable) and are
//   consumed by the first signShares call; any further call throws NONCE_REUSE.
// - Every commitment list is validated (each signer exactly once, valid points) and every
//   signature share is verified before aggregation; a bad share names its sender.
// - A target may carry a deposit tweak (taproot.ts): the shares, verifying shares and group key
//   are shifted by delta = t_d - t_0, where t_0 is the empty-tree TapTweak noble applied in the
//   DKG and t_d the TapTweak for the deposit root, so the group key becomes P + t_d*G.
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { schnorr, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { findMember } from './identifiers.js';
import { batchWeight, bytesToHex, fail, Fn, frost, type FrostPublic, hexToBytes, isHex, lagrangeAtZero, Point, type PointT, tryPoint, tryScalar, utf8 } from './internal.js';
import { outputKeyFor, tapTweakScalar } from './taproot.js';
import type { EpochKey, KeyShare } from './types.js';

export interface NonceCommitment {
  identifier: string;
  hiding: string; // 33-byte compressed point hex
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

/** Round 1: fresh nonce pairs, one per message, and their public commitments. */
export function signingCommit(share: KeyShare, key: EpochKey, count: number): { nonces: SigningNonces; commitments: NonceCommitment[] } {
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) fail('INVALID_INPUT', `count must be in [1, 10000], got ${count}`);
  if (share.epoch !== key.epoch) fail('INVALID_INPUT', `share is for epoch ${share.epoch}, key for ${key.epoch}`);
  if (!findMember(key.committee, share.identifier)) fail('INVALID_INPUT', 'share identifier is not in the committee');
  keyShareSecret(share);
  const secret = { identifier: share.identifier, signingShare: hexToBytes(share.signingShare) };
  const nonces: { hiding: Uint8Array; binding: Uint8Array }[] = [];
  const commitments: NonceCommitment[] = [];
  for (let i = 0; i < count; i++) {
    const r = frost.commit(secret);
    nonces.push(r.nonces);
    commitments.push({ identifier: share.identifier, hiding: bytesToHex(r.commitments.hiding), binding: bytesToHex(r.commitments.binding) });
  }
  return { nonces: new SigningNonces(share.identifier, key.epoch, nonces, commitments), commitments };
}

/**
 * Each signer exactly once, in the committee, at least threshold of them; each list has `count`
 * entries naming their owner with valid non-identity points. Throws with the culprits.
 */
export function validateCommitmentList(key: EpochKey, signers: string[], lists: Record<string, NonceCommitment[]>, count: number): void {
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
  for (const s of signers) {
    const ok = lists[s].every((c) => c && c.identifier === s && tryPoint(c.hiding) !== null && tryPoint(c.binding) !== null);
    if (!ok) bad.push(s);
  }
  if (bad.length) fail('INVALID_NONCE_COMMITMENT', 'nonce commitment with a wrong identifier or an invalid point', bad);
}

function validateTargets(targets: SigningTarget[]): void {
  if (!Array.isArray(targets) || targets.length === 0) fail('INVALID_INPUT', 'targets must be a non-empty array');
  for (const t of targets) {
    if (!t || !isHex(t.message, 32)) fail('INVALID_INPUT', 'target message must be a 32-byte hex sighash');
    if (t.tweak !== undefined && !isHex(t.tweak, 32)) fail('INVALID_INPUT', 'target tweak must be 32-byte hex');
  }
}

interface TargetCtx {
  pub: FrostPublic;
  /** Even-y group key and verifying shares as points (for the batched share check). */
  groupKey: PointT;
  shares: Map<string, PointT>;
  /** Maps an untweaked (vault) signing share to the one for this target, even-y normalized. */
  adjustSecret: (s: bigint) => bigint;
  outputKey: string;
}

/**
 * noble public package for a target, restricted to the signers and already even-y normalized
 * (noble's adjustPublic then takes its no-op path instead of re-parsing every verifying share).
 */
function targetContext(key: EpochKey, signers: string[], tweak: string | undefined): TargetCtx {
  let delta = 0n;
  if (tweak !== undefined && tweak !== '') delta = Fn.sub(tapTweakScalar(key.internalKey, tweak), tapTweakScalar(key.internalKey, ''));
  const deltaG = delta === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(delta);
  const q = tryPoint(key.commitments[0]);
  if (!q) fail('INVALID_INPUT', 'epoch key commitments[0] is not a valid point');
  let Q = deltaG.is0() ? q : q.add(deltaG);
  const odd = Q.toBytes(true)[0] === 0x03;
  if (odd) Q = Q.negate();
  const outputKey = outputKeyFor(key, tweak);
  if (bytesToHex(Q.toBytes(true).subarray(1)) !== outputKey) fail('SHARE_INCONSISTENCY', 'tweaked group key does not match the Taproot output key');
  const verifyingShares: Record<string, Uint8Array> = {};
  const points = new Map<string, PointT>();
  for (const s of signers) {
    const vs = tryPoint(key.verifyingShares[s]);
    if (!vs) fail('INVALID_INPUT', `epoch key has no valid verifying share for ${s}`, [s]);
    let v = deltaG.is0() ? vs : vs.add(deltaG);
    if (odd) v = v.negate();
    verifyingShares[s] = v.toBytes(true);
    points.set(s, v);
  }
  return {
    pub: { signers: { min: key.threshold, max: key.committee.length }, commitments: [Q.toBytes(true)], verifyingShares },
    groupKey: Q,
    shares: points,
    adjustSecret: (s) => {
      const t = Fn.add(s, delta);
      return odd ? Fn.neg(t) : t;
    },
    outputKey,
  };
}

function nobleList(lists: Record<string, NonceCommitment[]>, signers: string[], i: number) {
  return signers.map((s) => ({ identifier: s, hiding: hexToBytes(lists[s][i].hiding), binding: hexToBytes(lists[s][i].binding) }));
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
  validateCommitmentList(key, signers, lists, targets.length);
  const own = lists[share.identifier];
  if (!own) fail('INVALID_COMMITMENT_LIST', 'own commitments are not in the list');
  if (own.some((c, i) => c.hiding !== nonces.commitments[i].hiding || c.binding !== nonces.commitments[i].binding))
    fail('INVALID_COMMITMENT_LIST', 'the list carries commitments for this signer that it did not make');
  const sk = keyShareSecret(share);
  const raw = SigningNonces.consume(nonces);
  const out: string[] = [];
  for (let i = 0; i < targets.length; i++) {
    const ctx = targetContext(key, signers, targets[i].tweak);
    const secret = { identifier: share.identifier, signingShare: Fn.toBytes(ctx.adjustSecret(sk)) };
    const z = frost.signShare(secret, ctx.pub, raw[i], nobleList(lists, signers, i), hexToBytes(targets[i].message));
    out.push(bytesToHex(z));
    secret.signingShare.fill(0);
  }
  return out;
}

// --- share verification -----------------------------------------------------------------
// noble's verifyShare recomputes the group commitment for every share (O(t) each, O(t^2) per
// message). Here the per-message values (binding factors, group commitment R, challenge,
// Lagrange coefficients) are computed once, restating noble's RFC 9591 / secp256k1-TR formulas,
// and all shares of a message are checked together with random weights:
//   sum_i a_i z_i G == sum_i a_i (s (D_i + rho_i E_i) + c lambda_i Y_i),  s = -1 iff R has odd y.
// The single-share form of the same equation attributes blame. noble's own verifyShare stays the
// authority: if the fast check and noble ever disagreed, aggregation falls back to noble per share.

const SUITE = 'FROST-secp256k1-SHA256-TR-v1';
const DST_RHO = utf8(SUITE + 'rho');
const PREFIX_MSG = utf8(SUITE + 'msg');
const PREFIX_COM = utf8(SUITE + 'com');

interface MessageMath {
  odd: boolean; // R has odd y: signers negated their nonces
  c: bigint;
  rho: Map<string, bigint>;
  lambda: Map<string, bigint>;
  D: Map<string, PointT>;
  E: Map<string, PointT>;
}

function messageMath(ctx: TargetCtx, lists: Record<string, NonceCommitment[]>, signers: string[], i: number, msg: Uint8Array): MessageMath {
  const rows = signers
    .map((s) => ({ id: s, x: BigInt('0x' + s), D: tryPoint(lists[s][i].hiding)!, E: tryPoint(lists[s][i].binding)! }))
    .sort((a, b) => (a.x < b.x ? -1 : a.x > b.x ? 1 : 0));
  const encoded = concatBytes(...rows.flatMap((r) => [Fn.toBytes(r.x), r.D.toBytes(true), r.E.toBytes(true)]));
  const gpk = ctx.groupKey.toBytes(true);
  const rhoPrefix = concatBytes(gpk, sha256(concatBytes(PREFIX_MSG, msg)), sha256(concatBytes(PREFIX_COM, encoded)));
  const rho = new Map<string, bigint>();
  for (const r of rows) rho.set(r.id, secp256k1_hasher.hashToScalar(concatBytes(rhoPrefix, Fn.toBytes(r.x)), { DST: DST_RHO }));
  let hidingSum = Point.ZERO;
  for (const r of rows) hidingSum = hidingSum.add(r.D);
  const R = hidingSum.add(mulAddUnsafe(Point, rows.map((r) => r.E), rows.map((r) => rho.get(r.id)!)));
  const Rb = R.toBytes(true);
  const c = Fn.create(BigInt('0x' + bytesToHex(schnorr.utils.taggedHash('BIP0340/challenge', Rb.subarray(1), gpk.subarray(1), msg))));
  const xs = rows.map((r) => r.x);
  const lambda = new Map<string, bigint>();
  for (const r of rows) lambda.set(r.id, lagrangeAtZero(xs, r.x));
  return { odd: Rb[0] === 0x03, c, rho, lambda, D: new Map(rows.map((r) => [r.id, r.D])), E: new Map(rows.map((r) => [r.id, r.E])) };
}

/** Weighted check of several signers' shares for one message; true iff all hold. */
function batchCheck(ctx: TargetCtx, m: MessageMath, items: { id: string; z: bigint }[]): boolean {
  const points: PointT[] = [Point.BASE];
  const scalars: bigint[] = [];
  let zsum = Fn.ZERO;
  for (const { id, z } of items) {
    const a = items.length === 1 ? 1n : batchWeight();
    zsum = Fn.add(zsum, Fn.mul(a, z));
    const sa = m.odd ? a : Fn.neg(a); // -(s * a)
    points.push(m.D.get(id)!, m.E.get(id)!, ctx.shares.get(id)!);
    scalars.push(sa, Fn.mul(sa, m.rho.get(id)!), Fn.neg(Fn.mul(a, Fn.mul(m.c, m.lambda.get(id)!))));
  }
  scalars.unshift(zsum);
  return mulAddUnsafe(Point, points, scalars).is0();
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
  validateCommitmentList(key, signers, lists, targets.length);
  const ctxs = targets.map((t) => targetContext(key, signers, t.tweak));
  const maths = targets.map((t, i) => messageMath(ctxs[i], lists, signers, i, hexToBytes(t.message)));
  return (from, shares) => {
    if (!signers.includes(from)) return false;
    const zs = parseShares(shares, targets.length);
    if (!zs) return false;
    return zs.every((z, i) => batchCheck(ctxs[i], maths[i], [{ id: from, z }]));
  };
}

/** True iff `shares` (one per target) from `from` are valid for these commitment lists. */
export function verifySignatureShares(key: EpochKey, lists: Record<string, NonceCommitment[]>, targets: SigningTarget[], from: string, shares: string[]): boolean {
  return createShareVerifier(key, lists, targets)(from, shares);
}

/** noble's own per-share verification (authoritative, O(t) per share). */
function nobleVerify(ctx: TargetCtx, lists: Record<string, NonceCommitment[]>, signers: string[], i: number, msg: Uint8Array, from: string, z: string): boolean {
  try {
    return frost.verifyShare(ctx.pub, nobleList(lists, signers, i), msg, from, hexToBytes(z));
  } catch {
    return false;
  }
}

/**
 * Verifies every share (INVALID_SIGNATURE_SHARE naming each bad sender), aggregates, and checks
 * each result with BIP340 verify against the (tweaked) output key. Returns 64-byte sig hex per target.
 */
export function aggregateSignatures(key: EpochKey, lists: Record<string, NonceCommitment[]>, targets: SigningTarget[], shares: Record<string, string[]>): string[] {
  validateTargets(targets);
  const signers = Object.keys(lists ?? {});
  validateCommitmentList(key, signers, lists, targets.length);
  if (!shares || typeof shares !== 'object') fail('INVALID_INPUT', 'shares must be an object');
  const extra = Object.keys(shares).filter((s) => !signers.includes(s));
  if (extra.length) fail('UNKNOWN_PARTICIPANT', 'signature shares from outside the signer set', extra);
  const missing = signers.filter((s) => !Object.prototype.hasOwnProperty.call(shares, s));
  if (missing.length) fail('MISSING_PACKAGE', 'signature shares missing', missing);
  const malformed = signers.filter((s) => parseShares(shares[s], targets.length) === null);
  if (malformed.length) fail('INVALID_SIGNATURE_SHARE', `each signer must send ${targets.length} canonical scalars`, malformed);
  const ctxs = targets.map((t) => targetContext(key, signers, t.tweak));
  const bad = new Set<string>();
  for (let i = 0; i < targets.length; i++) {
    const msg = hexToBytes(targets[i].message);
    const m = messageMath(ctxs[i], lists, signers, i, msg);
    const items = signers.map((s) => ({ id: s, z: BigInt('0x' + shares[s][i]) }));
    if (batchCheck(ctxs[i], m, items)) continue;
    // Someone is wrong: attribute per share, with noble's verifyShare as the authority.
    for (const s of signers) if (!nobleVerify(ctxs[i], lists, signers, i, msg, s, shares[s][i])) bad.add(s);
  }
  if (bad.size) fail('INVALID_SIGNATURE_SHARE', 'signature share does not verify', signers.filter((s) => bad.has(s)));
  const out: string[] = [];
  for (let i = 0; i < targets.length; i++) {
    const msg = hexToBytes(targets[i].message);
    const byId: Record<string, Uint8Array> = {};
    for (const s of signers) byId[s] = hexToBytes(shares[s][i]);
    let sig: Uint8Array;
    try {
      sig = frost.aggregate(ctxs[i].pub, nobleList(lists, signers, i), msg, byId);
    } catch (e) {
      // Every share verified above, so a failure here means the set itself cannot sign
      // (e.g. fewer shares than the key's real threshold): no single culprit.
      const cheaters = (e as { cheaters?: string[] }).cheaters ?? [];
      if (cheaters.length) return fail('INVALID_SIGNATURE_SHARE', `aggregation failed: ${(e as Error).message}`, cheaters);
      return fail('INVALID_SIGNATURE', `aggregated signature does not verify: ${(e as Error).message}`);
    }
    if (sig.length !== 64 || !schnorr.verify(sig, msg, hexToBytes(ctxs[i].outputKey)))
      fail('INVALID_SIGNATURE', 'aggregated signature fails BIP340 verification');
    out.push(bytesToHex(sig));
  }
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
