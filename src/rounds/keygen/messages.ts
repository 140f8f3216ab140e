// Keygen wire messages: payload schemas and the registrations the network needs. Gossip types
// go on topic 'keygen'; round-2 shares are a direct kind (one recipient each, Noise-encrypted).
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { AttestationSchema, EpochRecordSchema, canonicalJson } from '../../epochs/record.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes}-byte lowercase hex`);
const peerId = z.string().min(1).max(256);
/** Uncompressed SEC1 point (04 || x || y): the wire form of points every member parses in bulk (no square root). */
export const wirePoint = z.string().regex(/^04[0-9a-f]{128}$/, 'expected a 65-byte uncompressed point (04 || x || y), lowercase hex');
const MAX_MEMBERS = 1000;

export const KEYGEN_TOPIC = 'keygen';
export const KeygenTypes = {
  round1: 'keygen.round1',
  echo: 'keygen.echo',
  round2: 'keygen.round2',
  attest: 'keygen.attest',
  abort: 'keygen.abort',
} as const;

/** Round 1: commitment of `threshold` uncompressed points; proof = R (65-byte uncompressed) || z (32 bytes). */
export const DkgRound1Schema = z.object({ identifier: hex(32), commitment: z.array(wirePoint).min(1).max(MAX_MEMBERS), proofOfKnowledge: hex(97) }).strict();
/** Echo: the transcript hash plus the hash of each member's package as this node saw it, so a mismatch names whose package differs. */
export const EchoSchema = z.object({ transcriptHash: hex(32), packages: z.record(peerId, hex(32)) }).strict().refine((e) => Object.keys(e.packages).length <= MAX_MEMBERS, 'too many packages');
export const DkgRound2Schema = z.object({ from: hex(32), to: hex(32), signingShare: hex(32) }).strict();
export const AttestMessageSchema = z.object({ record: EpochRecordSchema, attestation: AttestationSchema }).strict();
export const AbortSchema = z.object({ code: z.string().min(1).max(64), message: z.string().max(500), culprits: z.array(peerId).max(MAX_MEMBERS) }).strict();
export const DirectAckSchema = z.object({ ok: z.literal(true) }).strict();

export type EchoPayload = z.infer<typeof EchoSchema>;
export type AttestMessage = z.infer<typeof AttestMessageSchema>;
export type AbortPayload = z.infer<typeof AbortSchema>;

/** sha256 of a package's canonical JSON (what the echo compares). */
export function packageHash(p: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(p))));
}

/** For registerMessageType(type, spec): gossip message types of keygen. */
export const keygenGossipSpecs = {
  // 1000 commitment points of 133 JSON bytes each (133 KB) plus the proof and the envelope.
  [KeygenTypes.round1]: { schema: DkgRound1Schema, maxBytes: 160 * 1024, topic: KEYGEN_TOPIC },
  [KeygenTypes.echo]: { schema: EchoSchema, maxBytes: 256 * 1024, topic: KEYGEN_TOPIC },
  [KeygenTypes.attest]: { schema: AttestMessageSchema, maxBytes: 256 * 1024, topic: KEYGEN_TOPIC },
  [KeygenTypes.abort]: { schema: AbortSchema, maxBytes: 64 * 1024, topic: KEYGEN_TOPIC },
} as const;

/** For DirectMessenger.register(kind, {...spec, handler}): the round-2 share. */
export const keygenDirectSpecs = {
  [KeygenTypes.round2]: { request: DkgRound2Schema, response: DirectAckSchema, maxRequestBytes: 4 * 1024, maxResponseBytes: 256 },
} as const;
