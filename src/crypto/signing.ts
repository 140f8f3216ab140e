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
import { schnorr } from '@noble/curves/secp256k1.js';
import { findMember } from './identifiers.js';
import { bytesToHex, fail, Fn, frost, type FrostPublic, hexToBytes, isHex, Point, type PointT, tryPoint, tryScalar } from './internal.js';
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
  for (const s of signers) {
    const vs = tryPoint(key.verifyingShares[s]);
    if (!vs) fail('INVALID_INPUT', `epoch key has no valid verifying share for ${s}`, [s]);
    let v = deltaG.is0() ? vs : vs.add(deltaG);
    if (odd) v = v.negate();
    verifyingShares[s] = v.toBytes(true);
  }
  return {
    pub: { signers: { min: key.threshold, max: key.committee.length }, commitments: [Q.toBytes(true)], verifyingShares },
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

function verifyWithCtx(ctxs: TargetCtx[], lists: Record<string, NonceCommitment[]>, signers: string[], targets: SigningTarget[], from: string, shares: unknown): boolean {
  if (!Array.isArray(shares) || shares.length !== targets.length) return false;
  for (let i = 0; i < targets.length; i++) {
    if (tryScalar(shares[i], true) === null) return false;
    try {
      if (!frost.verifyShare(ctxs[i].pub, nobleList(lists, signers, i), hexToBytes(targets[i].message), from, hexToBytes(shares[i]))) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** True iff `shares` (one per target) from `from` are valid for these commitment lists. */
export function verifySignatureShares(key: EpochKey, lists: Record<string, NonceCommitment[]>, targets: SigningTarget[], from: string, shares: string[]): boolean {
  validateTargets(targets);
  const signers = Object.keys(lists ?? {});
  validateCommitmentList(key, signers, lists, targets.length);
  if (!signers.includes(from)) return false;
  const ctxs = targets.map((t) => targetContext(key, signers, t.tweak));
  return verifyWithCtx(ctxs, lists, signers, targets, from, shares);
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
  const ctxs = targets.map((t) => targetContext(key, signers, t.tweak));
  const bad = signers.filter((s) => !verifyWithCtx(ctxs, lists, signers, targets, s, shares[s]));
  if (bad.length) fail('INVALID_SIGNATURE_SHARE', 'signature share does not verify', bad);
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
