// The one envelope every gossiped message travels in.
//
// Encoding: UTF-8 JSON bytes. Chosen over protobuf/CBOR because every payload in this project is
// already plain data with hex strings (FROST packages, hashes, outpoints), JSON keeps messages
// readable in the round log as received, and zod validates the parsed value directly. The cost
// (size) is bounded by a per-type byte limit checked before parsing. Bigints never appear on the
// wire: amounts travel as decimal strings.
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const PROTOCOL_VERSION = 1;

/** Hard upper bound for any envelope, whatever its type declares. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

export interface Envelope<P = unknown> {
  version: number;
  network: string;
  epoch: number;
  round: number;
  type: string;
  /** Sender peer id (base58). Must equal the gossipsub signer. */
  from: string;
  payload: P;
}

export const envelopeSchema = z
  .object({
    version: z.number().int().nonnegative(),
    network: z.string().min(1).max(32),
    epoch: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    round: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    type: z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9._-]*$/),
    from: z.string().min(1).max(128),
    payload: z.unknown(),
  })
  .strict();

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeEnvelope<P>(env: Envelope<P>): Uint8Array {
  return encoder.encode(JSON.stringify(env));
}

export type DecodeResult = { ok: true; value: unknown } | { ok: false; reason: string };

/** Parses bytes to an untyped JSON value; never throws. Schema checks happen in validate.ts. */
export function decodeJson(bytes: Uint8Array): DecodeResult {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: 'not-utf8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'not-json' };
  }
}

/** Digest of the exact bytes received; the replay cache keys on it. */
export function messageDigest(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}
