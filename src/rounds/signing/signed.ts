// Signed custody-round messages. Every round message except sign.final (which carries its own
// BIP340 signatures) holds `sig`: the sender's Schnorr signature, under its verifying share, over
//   sha256("metanode/round-msg/1\n" || type || "\n" || canonical JSON of the body without sig)
// bound to (network, epoch, sender, round) by signRoundMessage's context. Two different bodies
// signed by one peer for the same slot (round, type, attempt) are proof of equivocation that any
// node checks against public data alone.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { signRoundMessage, verifyRoundMessage, type TssProofContext } from '../../crypto/proof.js';
import type { KeyShare } from '../../crypto/types.js';
import { MSG } from './messages.js';

/** JSON with object keys sorted at every level: the same body gives the same bytes on every node. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

function withoutSig(payload: unknown): unknown {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  const { sig: _sig, ...body } = payload as Record<string, unknown>;
  return body;
}

/** Digest of a message's body (its `sig` left out): what the sender signs and what equivocation compares. */
export function bodyDigestBytes(type: string, payload: unknown): Uint8Array {
  return sha256(utf8ToBytes(`metanode/round-msg/1\n${type}\n${canonicalJson(withoutSig(payload))}`));
}

export function bodyDigest(type: string, payload: unknown): string {
  return bytesToHex(bodyDigestBytes(type, payload));
}

/** The payload with the sender's signature added (any previous `sig` replaced). */
export function signPayload<P extends object>(share: KeyShare, ctx: TssProofContext, type: string, payload: P): P & { sig: string } {
  const body = withoutSig(payload) as P;
  return { ...body, sig: signRoundMessage(share, ctx, bodyDigestBytes(type, body)) };
}

/** True iff the payload's `sig` is `ctx.peerId`'s signature (under `verifyingShare`) on its body. */
export function verifyPayload(verifyingShare: string, ctx: TssProofContext, type: string, payload: unknown): boolean {
  if (payload === null || typeof payload !== 'object') return false;
  const sig = (payload as { sig?: unknown }).sig;
  return typeof sig === 'string' && verifyRoundMessage(verifyingShare, ctx, bodyDigestBytes(type, payload), sig);
}

/** Whether messages of this type carry a signature (all round messages but the self-verifying final). */
export function isSignedType(type: string): boolean {
  return type !== MSG.final;
}

/**
 * The slot a signed message occupies: one sender may sign one body per slot. Candidates, proposals
 * and signing sets: one per round; checksums: one per set of excluded equivocators; commits, acks
 * and shares: one per attempt.
 */
export function slotOf(type: string, payload: Record<string, unknown>): string {
  switch (type) {
    case MSG.checksum:
      return `${type}|${Array.isArray(payload.excluded) ? [...(payload.excluded as string[])].sort().join(',') : ''}`;
    case MSG.commit:
    case MSG.ack:
    case MSG.share:
      return `${type}|${String(payload.attempt)}`;
    default:
      return type;
  }
}

/**
 * What goes on the wire for an outgoing round message: the body signed by its sender, before it
 * leaves through the node's outbound port, so what a peer receives is always attributable to the
 * node that sent it.
 */
export function signOutgoing(share: KeyShare, ctx: TssProofContext, type: string, payload: unknown): unknown {
  if (!isSignedType(type) || payload === null || typeof payload !== 'object') return payload;
  return signPayload(share, ctx, type, payload);
}
