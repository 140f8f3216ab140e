// Transfer request records (the "unconfirmed K/V" of seed 000 §5 / seed 004): what a client asked
// the federation to pay out once its deposit confirms. Records are created and signed by one node
// (the origin), then replicated to every node by pull gossip (src/p2p/replication.ts).
import { z } from 'zod';
import * as btc from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Network } from '../chain/types.js';

export interface TransferRequest {
  /**
   * requestIdOf(record): sha256 of every signed field except the two derived from it (the id
   * itself and the deposit address), 64 lowercase hex chars. Two different records cannot share
   * an id, so nobody can squat on another origin's id; the deposit tweak derives from it.
   */
  id: string;
  network: Network;
  /** Key epoch whose vault key the deposit address is tweaked from. */
  epoch: number;
  amountSats: bigint;
  payoutAddress: string;
  refundAddress: string;
  /** Unix seconds after which the deposit is refunded instead of paid out. */
  expiry: number;
  depositAddress: string;
  /** Creation time at the origin, unix ms, and its index among the origin's records of that ms. */
  timestamp: number;
  timestampIndex: number;
  /** Peer id of the node that accepted the request from the client and signed it. */
  origin: string;
  /** Ed25519 signature (hex) by the origin's identity key over signingBytes(record). */
  signature: string;
}

export const REQUEST_ID_RE = /^[0-9a-f]{64}$/;

/** The fields a request id commits to: everything the origin signs except the id and the deposit address. */
export type RequestContent = Omit<TransferRequest, 'id' | 'depositAddress' | 'signature'>;

/** The content fields in their canonical order (what the id hashes and the signature covers). */
function contentFields(r: RequestContent): unknown[] {
  return [r.network, r.epoch, r.amountSats.toString(), r.payoutAddress, r.refundAddress, r.expiry, r.timestamp, r.timestampIndex, r.origin];
}

/** A request's id: sha256 over the canonical bytes of its content (domain-tagged, fixed order). */
export function requestIdOf(r: RequestContent): string {
  return bytesToHex(sha256(new TextEncoder().encode(JSON.stringify(['metanode/transfer-request-id/1', ...contentFields(r)]))));
}

/** Wire/JSON form: amount as a decimal string. */
export const transferRequestWireSchema = z
  .object({
    id: z.string().regex(REQUEST_ID_RE),
    network: z.enum(['regtest', 'testnet', 'signet', 'mainnet']),
    epoch: z.number().int().nonnegative().max(1e12),
    amountSats: z.string().regex(/^[1-9][0-9]{0,15}$/),
    payoutAddress: z.string().min(14).max(100),
    refundAddress: z.string().min(14).max(100),
    expiry: z.number().int().positive().max(1e11),
    depositAddress: z.string().min(14).max(100),
    timestamp: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    timestampIndex: z.number().int().nonnegative().max(1_000_000),
    origin: z.string().min(1).max(128),
    signature: z.string().regex(/^[0-9a-f]{128}$/),
  })
  .strict();

export type TransferRequestWire = z.infer<typeof transferRequestWireSchema>;

export function toWire(r: TransferRequest): TransferRequestWire {
  return { ...r, amountSats: r.amountSats.toString() };
}

export function fromWire(w: TransferRequestWire): TransferRequest {
  return { ...w, amountSats: BigInt(w.amountSats) };
}

/** Canonical bytes the origin signs: a fixed-order JSON array with a domain tag. */
export function signingBytes(r: Omit<TransferRequest, 'signature'>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(['metanode/transfer-request/2', r.id, r.depositAddress, ...contentFields(r)]));
}

const REGTEST = { ...btc.TEST_NETWORK, bech32: 'bcrt' };

export function isAddressFor(address: string, network: Network): boolean {
  const net = network === 'mainnet' ? btc.NETWORK : network === 'regtest' ? REGTEST : btc.TEST_NETWORK;
  try {
    btc.OutScript.encode(btc.Address(net).decode(address));
    return true;
  } catch {
    return false;
  }
}
