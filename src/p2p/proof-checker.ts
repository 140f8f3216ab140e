// Adapters between pings and src/crypto/proof.ts: a ProofChecker that verifies a peer's
// tss_proof against its verifying share in the epoch key, and the matching proofRequired /
// makeProof functions for P2pNetworkOptions.
import type { Network } from '../chain/types.js';
import type { EpochKey, KeyShare } from '../crypto/types.js';
import { createTssProof, verifyTssProof } from '../crypto/proof.js';
import { identifierOf } from '../crypto/identifiers.js';
import type { ProofChecker, TssProofContext } from './ping.js';

/** `keyFor(epoch)`: the epoch key this node knows, if any. */
export function tssProofChecker(keyFor: (epoch: number) => EpochKey | undefined): ProofChecker {
  return (peerId: string, proof: string, ctx: TssProofContext): boolean | undefined => {
    const key = keyFor(ctx.epoch);
    if (!key) return undefined;
    // Key known but the sender holds no share of it: a proof it cannot have is a false claim.
    const id = identifierOf(key.committee, peerId);
    const vs = id === undefined ? undefined : key.verifyingShares[id];
    if (!vs) return false;
    return verifyTssProof(vs, { ...ctx, network: ctx.network as Network }, proof);
  };
}

/** A peer must prove its share when it is a member of the committee of that epoch's key. */
export function proofRequiredBy(keyFor: (epoch: number) => EpochKey | undefined): (peerId: string, epoch: number) => boolean {
  return (peerId, epoch) => keyFor(epoch)?.committee.some((m) => m.peerId === peerId) ?? false;
}

/** Our own proof for a ping, while we hold a share of the epoch's key. */
export function tssProofMaker(shareFor: (epoch: number) => KeyShare | undefined): (ctx: TssProofContext) => string | undefined {
  return (ctx) => {
    const share = shareFor(ctx.epoch);
    return share ? createTssProof(share, { ...ctx, network: ctx.network as Network }) : undefined;
  };
}
