// Validation of one transfer request record, whether created here or received from a peer.
import { peerIdFromString } from '@libp2p/peer-id';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Network } from '../chain/types.js';
import { isAddressFor, signingBytes, type TransferRequest } from './requests-schema.js';

export interface RequestValidationContext {
  network: Network;
  now: number;
  /** Deposit address for (request id, epoch), or undefined if that epoch's key is unknown here. */
  depositAddressFor: (requestId: string, epoch: number) => string | undefined;
  dustSats: bigint;
  /** How far in the future a record's timestamp may be (origin clock skew). */
  maxFutureMs: number;
  /** Longest allowed expiry after creation, seconds. */
  maxLifetimeSeconds: number;
}

export type RequestVerdict =
  | { ok: true }
  /** `transient`: cannot decide yet (e.g. unknown epoch); not the sender's fault, retry later. */
  | { ok: false; reason: string; transient?: boolean };

export async function validateTransferRequest(r: TransferRequest, ctx: RequestValidationContext): Promise<RequestVerdict> {
  if (!/^[0-9a-f]{32}$/.test(r.id)) return { ok: false, reason: 'bad-id' };
  if (r.network !== ctx.network) return { ok: false, reason: 'wrong-network' };
  if (r.amountSats <= 0n) return { ok: false, reason: 'amount-not-positive' };
  if (r.amountSats <= ctx.dustSats) return { ok: false, reason: 'amount-dust' };
  if (r.amountSats > 21_000_000n * 100_000_000n) return { ok: false, reason: 'amount-too-large' };
  if (!isAddressFor(r.payoutAddress, ctx.network)) return { ok: false, reason: 'bad-payout-address' };
  if (!isAddressFor(r.refundAddress, ctx.network)) return { ok: false, reason: 'bad-refund-address' };
  if (!Number.isSafeInteger(r.timestamp) || r.timestamp > ctx.now + ctx.maxFutureMs) return { ok: false, reason: 'timestamp-in-future' };
  if (!Number.isInteger(r.timestampIndex) || r.timestampIndex < 0) return { ok: false, reason: 'bad-timestamp-index' };
  // "In the future at creation": judged against the record's own creation time, so a record that
  // has since expired still replicates (the custody round refunds it).
  if (r.expiry * 1000 <= r.timestamp) return { ok: false, reason: 'expired-at-creation' };
  if (r.expiry * 1000 > r.timestamp + ctx.maxLifetimeSeconds * 1000) return { ok: false, reason: 'expiry-too-far' };
  let expected: string | undefined;
  try {
    expected = ctx.depositAddressFor(r.id, r.epoch);
  } catch {
    expected = undefined;
  }
  if (expected === undefined) return { ok: false, reason: 'unknown-epoch', transient: true };
  if (r.depositAddress !== expected) return { ok: false, reason: 'bad-deposit-address' };
  let valid = false;
  try {
    const pid = peerIdFromString(r.origin);
    if (pid.type !== 'Ed25519' || !pid.publicKey) return { ok: false, reason: 'bad-origin' };
    const { signature, ...unsigned } = r;
    valid = await pid.publicKey.verify(signingBytes(unsigned), hexToBytes(signature));
  } catch {
    return { ok: false, reason: 'bad-origin' };
  }
  if (!valid) return { ok: false, reason: 'bad-signature' };
  return { ok: true };
}
