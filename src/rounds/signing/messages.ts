// Wire messages of the custody round, one zod schema per type. The envelope (version, network,
// epoch, round, from) is checked by the network layer; these schemas check the payload. Amounts
// never travel here; hashes, proofs, points and scalars are lowercase hex.
import { z } from 'zod';
import { registerMessageType, type MessageTypeSpec } from '../../p2p/registry.js';

export const SIGNING_TOPIC = 'signing';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
/** Nonce commitments travel uncompressed (04 || x || y): each signer parses 2t of them per input, without square roots. */
const wirePoint = z.string().regex(/^04[0-9a-f]{128}$/);
const peerId = z.string().min(1).max(128);
const outpoint = z.string().regex(/^[0-9a-f]{64}:\d{1,6}$/);
const MAX_PEERS = 256;
const MAX_INPUTS = 2000;

export const candidatePayloadSchema = z
  .object({
    /** sha512_256 of the tx_sign_doc, or null when the sender has no candidate (no transfer). */
    docHash: hex32.nullable(),
    anchorHeight: z.number().int().nonnegative().max(100_000_000),
    feeRate: z.number().positive().max(100_000),
    transferIds: z.array(z.string().min(1).max(256)).max(MAX_INPUTS),
    refunds: z.array(outpoint).max(MAX_INPUTS),
    replaces: hex32.optional(),
  })
  .strict();

export const proposalPayloadSchema = z
  .object({
    /** sha512_256(tx_sign_doc) */
    h0: hex32,
    /** sha512_256(peer_id || tx_sign_doc) */
    h1: hex32,
    // Whole bytes (a proof is 65): an odd-length string is malformed (found by the fuzzer).
    tssProof: z.string().regex(/^(?:[0-9a-f]{2}){1,128}$/),
  })
  .strict();

export const signingSetPayloadSchema = z.object({ members: z.array(peerId).min(1).max(MAX_PEERS) }).strict();

export const checksumPayloadSchema = z.object({ checksum: hex32 }).strict();

export const nonceCommitmentSchema = z.object({ identifier: hex32, hiding: wirePoint, binding: wirePoint }).strict();

export const commitPayloadSchema = z
  .object({
    attempt: z.number().int().nonnegative().max(1000),
    signers: z.array(peerId).min(1).max(MAX_PEERS),
    commitments: z.array(nonceCommitmentSchema).min(1).max(MAX_INPUTS),
  })
  .strict();

export const sharePayloadSchema = z
  .object({
    attempt: z.number().int().nonnegative().max(1000),
    shares: z.array(hex32).min(1).max(MAX_INPUTS),
  })
  .strict();

export const finalPayloadSchema = z
  .object({
    txid: hex32,
    tx: z.string().regex(/^(?:[0-9a-f]{2})+$/).max(2 * 400_000),
  })
  .strict();

export type CandidatePayload = z.infer<typeof candidatePayloadSchema>;
export type ProposalPayload = z.infer<typeof proposalPayloadSchema>;
export type SigningSetPayload = z.infer<typeof signingSetPayloadSchema>;
export type ChecksumPayload = z.infer<typeof checksumPayloadSchema>;
export type CommitPayload = z.infer<typeof commitPayloadSchema>;
export type SharePayload = z.infer<typeof sharePayloadSchema>;
export type FinalPayload = z.infer<typeof finalPayloadSchema>;

export const MSG = {
  candidate: 'sign.candidate',
  proposal: 'sign.proposal',
  signingSet: 'sign.set',
  checksum: 'sign.checksum',
  commit: 'sign.commit',
  share: 'sign.share',
  final: 'sign.final',
} as const;
export type SigningMessageType = (typeof MSG)[keyof typeof MSG];

/** Registration specs: every type on the 'signing' topic; messages of another round are stale. */
export const SIGNING_MESSAGE_SPECS: Record<SigningMessageType, MessageTypeSpec<any>> = {
  [MSG.candidate]: { schema: candidatePayloadSchema, maxBytes: 256 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
  [MSG.proposal]: { schema: proposalPayloadSchema, maxBytes: 4 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
  [MSG.signingSet]: { schema: signingSetPayloadSchema, maxBytes: 48 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
  [MSG.checksum]: { schema: checksumPayloadSchema, maxBytes: 2 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
  // 2000 commitments of ~367 JSON bytes (two uncompressed points and an identifier) plus 256 signers.
  [MSG.commit]: { schema: commitPayloadSchema, maxBytes: 800 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
  [MSG.share]: { schema: sharePayloadSchema, maxBytes: 256 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
  [MSG.final]: { schema: finalPayloadSchema, maxBytes: 900 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 1, maxRoundsAhead: 1 } },
};

export const SIGNING_SCHEMAS: Record<SigningMessageType, z.ZodType<unknown>> = Object.fromEntries(
  Object.entries(SIGNING_MESSAGE_SPECS).map(([k, v]) => [k, v.schema]),
) as Record<SigningMessageType, z.ZodType<unknown>>;

/** Registers every custody-round message type with the network registry (idempotent). */
export function registerSigningMessageTypes(register: <P>(type: string, spec: MessageTypeSpec<P>) => void = registerMessageType): void {
  for (const [type, spec] of Object.entries(SIGNING_MESSAGE_SPECS)) register(type, spec);
}

export function isSigningMessageType(t: string): t is SigningMessageType {
  return Object.prototype.hasOwnProperty.call(SIGNING_MESSAGE_SPECS, t);
}
