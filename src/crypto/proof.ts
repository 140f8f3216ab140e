// tss_proof: a Schnorr proof of knowledge of a node's signing share x_i for its public verifying
// share Y_i = x_i*G, bound to (network, epoch, peer id, round).
//
//   R = k*G,  c = int(tagged_hash('metanode/tss_proof', R || Y_i || ctx)) mod n,  s = k + c*x_i
//   proof = R (33-byte compressed) || s (32 bytes), hex;  valid iff s*G == R + c*Y_i
//   ctx = lp(utf8(network)) || u64(epoch) || lp(utf8(peerId)) || u64(round)
//
// The context is inside the challenge, so a proof verified for one (network, epoch, peer, round)
// does not verify for any other: it cannot be replayed into another round or claimed by another peer.
import { schnorr } from '@noble/curves/secp256k1.js';
import type { Network } from '../chain/types.js';
import { bytesToHex, fail, Fn, hexToBytes, isHex, lp, Point, pointHex, tryPoint, tryScalar, u64, utf8 } from './internal.js';
import type { KeyShare } from './types.js';

export interface TssProofContext {
  network: Network;
  epoch: number;
  peerId: string;
  round: number;
}

const NETWORKS: ReadonlySet<string> = new Set(['regtest', 'testnet', 'signet', 'mainnet']);
const TAG = 'metanode/tss_proof';

function contextBytes(ctx: TssProofContext): Uint8Array | null {
  if (!ctx || typeof ctx !== 'object') return null;
  if (!NETWORKS.has(ctx.network)) return null;
  if (!Number.isSafeInteger(ctx.epoch) || ctx.epoch < 0) return null;
  if (!Number.isSafeInteger(ctx.round) || ctx.round < 0) return null;
  if (typeof ctx.peerId !== 'string' || ctx.peerId.length === 0 || ctx.peerId.length > 256) return null;
  const parts = [lp(utf8(ctx.network)), u64(ctx.epoch), lp(utf8(ctx.peerId)), u64(ctx.round)];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function challenge(R: Uint8Array, Y: Uint8Array, ctx: Uint8Array, tag = TAG, msg: Uint8Array = new Uint8Array(0)): bigint {
  return Fn.create(BigInt('0x' + bytesToHex(schnorr.utils.taggedHash(tag, R, Y, ctx, msg))));
}

export function createTssProof(share: KeyShare, ctx: TssProofContext): string {
  return proveWith(TAG, share, ctx, new Uint8Array(0));
}

/**
 * The same Schnorr scheme under its own tag with a 32-byte message digest in the challenge: the
 * sender's signature on one custody-round message, checked against its public verifying share.
 * Two such signatures on different messages of one (round, type, attempt) are transferable proof
 * of equivocation: any node verifies them the same way.
 */
const MSG_TAG = 'metanode/round-msg';

export function signRoundMessage(share: KeyShare, ctx: TssProofContext, digest: Uint8Array): string {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) fail('INVALID_INPUT', 'round-message digest must be 32 bytes');
  return proveWith(MSG_TAG, share, ctx, digest);
}

/** True iff `sig` is the holder of `verifyingShare` signing `digest` in this context. Never throws. */
export function verifyRoundMessage(verifyingShare: string, ctx: TssProofContext, digest: Uint8Array, sig: string): boolean {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) return false;
  return checkWith(MSG_TAG, verifyingShare, ctx, sig, digest);
}

function proveWith(tag: string, share: KeyShare, ctx: TssProofContext, msg: Uint8Array): string {
  const x = tryScalar(share?.signingShare);
  if (x === null) fail('KEYSTORE', 'signing share is not a valid scalar');
  const c8 = contextBytes(ctx);
  if (!c8) fail('INVALID_INPUT', 'tss_proof context needs a known network, non-negative epoch and round, and a peer id');
  const Y = Point.BASE.multiply(x).toBytes(true);
  // Nonce from fresh randomness hashed with the secret and context (hedged, as in BIP340).
  const rand = crypto.getRandomValues(new Uint8Array(32));
  let k = Fn.create(BigInt('0x' + bytesToHex(schnorr.utils.taggedHash(tag + '/nonce', rand, Fn.toBytes(x), c8, msg))));
  if (k === 0n) k = 1n; // probability 2^-256; keeps multiply() in range
  const R = Point.BASE.multiply(k).toBytes(true);
  const s = Fn.add(k, Fn.mul(challenge(R, Y, c8, tag, msg), x));
  k = 0n;
  return bytesToHex(R) + bytesToHex(Fn.toBytes(s));
}

/** True iff `proof` proves knowledge of the discrete log of `verifyingShare` in this context. Never throws. */
export function verifyTssProof(verifyingShare: string, ctx: TssProofContext, proof: string): boolean {
  return checkWith(TAG, verifyingShare, ctx, proof, new Uint8Array(0));
}

function checkWith(tag: string, verifyingShare: string, ctx: TssProofContext, proof: string, msg: Uint8Array): boolean {
  try {
    const Y = tryPoint(verifyingShare);
    const c8 = contextBytes(ctx);
    if (!Y || !c8 || !isHex(proof, 65)) return false;
    const R = tryPoint(proof.slice(0, 66));
    const s = tryScalar(proof.slice(66), true);
    if (!R || s === null) return false;
    const c = challenge(hexToBytes(proof.slice(0, 66)), hexToBytes(verifyingShare), c8, tag, msg);
    // s*G - c*Y == R
    const lhs = s === 0n ? Y.multiplyUnsafe(Fn.neg(c)) : c === 0n ? Point.BASE.multiplyUnsafe(s) : Point.BASE.mulAddUnsafe(s, Y, Fn.neg(c));
    return lhs.equals(R);
  } catch {
    return false;
  }
}

/** verifyTssProof, throwing INVALID_TSS_PROOF that names the peer. */
export function assertTssProof(verifyingShare: string, ctx: TssProofContext, proof: string): void {
  if (!verifyTssProof(verifyingShare, ctx, proof)) fail('INVALID_TSS_PROOF', 'tss_proof does not verify', [String(ctx?.peerId)]);
}

/** Compressed verifying share (hex) of a key share, e.g. to look up or publish one's own. */
export function verifyingShareOf(share: KeyShare): string {
  const x = tryScalar(share?.signingShare);
  if (x === null) fail('KEYSTORE', 'signing share is not a valid scalar');
  return pointHex(Point.BASE.multiply(x));
}
