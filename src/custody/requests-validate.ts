// Validation of one transfer request record, whether created here or received from a peer.
import { peerIdFromString } from '@libp2p/peer-id';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Network } from '../chain/types.js';
import { isAddressFor, REQUEST_ID_RE, requestIdOf, signingBytes, type TransferRequest } from './requests-schema.js';

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
  /**
   * Whether `origin` may originate requests: 'staked' (in the staked peer table, or this node),
   * 'unstaked' (known, stake not valid) or 'unknown' (not heard of yet). Absent = anyone (tests
   * of the record format alone).
   */
  originStanding?: (origin: string) => OriginStanding;
}

export type OriginStanding = 'staked' | 'unstaked' | 'unknown';

export type RequestVerdict =
  | { ok: true }
  /**
   * `transient`: cannot decide yet (e.g. unknown epoch); not the sender's fault, retry later.
   * `refused`: well-formed and signed, but this node does not take it (origin not staked here,
   * origin over its quota): judged on local state that honest nodes may see differently, so it is
   * no proof against the peer that served it.
   */
  | { ok: false; reason: string; transient?: boolean; refused?: boolean };

export async function validateTransferRequest(r: TransferRequest, ctx: RequestValidationContext): Promise<RequestVerdict> {
  if (!REQUEST_ID_RE.test(r.id)) return { ok: false, reason: 'bad-id' };
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
  // The id is the hash of the content: a record re-signed under someone else's id is invalid.
  if (r.id !== requestIdOf(r)) return { ok: false, reason: 'id-mismatch' };
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
  // Last, after the signature: only the signed origin's standing is judged.
  const standing = ctx.originStanding?.(r.origin) ?? 'staked';
  if (standing === 'unknown') return { ok: false, reason: 'origin-unknown', transient: true };
  if (standing === 'unstaked') return { ok: false, reason: 'origin-not-staked', refused: true };
  return { ok: true };
}
