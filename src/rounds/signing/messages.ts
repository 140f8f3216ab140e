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
/**
 * The sender's signature (src/crypto/proof.ts signRoundMessage) over the message's type, round
 * and body: what makes two different messages of one slot transferable proof of equivocation.
 */
const sig = z.string().regex(/^[0-9a-f]{130}$/);
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
    sig,
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
    sig,
  })
  .strict();

export const signingSetPayloadSchema = z.object({ members: z.array(peerId).min(1).max(MAX_PEERS), sig }).strict();

export const checksumPayloadSchema = z
  .object({
    checksum: hex32,
    /**
     * Peers proven to equivocate that the sender left out before computing this checksum (sorted).
     * A node that learns of a new equivocator recomputes and sends a checksum with a longer list.
     */
    excluded: z.array(peerId).max(MAX_PEERS),
    sig,
  })
  .strict();

export const nonceCommitmentSchema = z.object({ identifier: hex32, hiding: wirePoint, binding: wirePoint }).strict();

export const commitPayloadSchema = z
  .object({
    attempt: z.number().int().nonnegative().max(1000),
    signers: z.array(peerId).min(1).max(MAX_PEERS),
    commitments: z.array(nonceCommitmentSchema).min(1).max(MAX_INPUTS),
    sig,
  })
  .strict();

/**
 * A signer's statement of the commitment list it holds for an attempt: one digest per signer (in
 * the attempt's signer order) of that signer's signed commit message. Shares are released only
 * once every signer's ack equals one's own.
 */
export const ackPayloadSchema = z
  .object({
    attempt: z.number().int().nonnegative().max(1000),
    signers: z.array(peerId).min(1).max(MAX_PEERS),
    digests: z.array(hex32).min(1).max(MAX_PEERS),
    sig,
  })
  .strict();

export const sharePayloadSchema = z
  .object({
    attempt: z.number().int().nonnegative().max(1000),
    shares: z.array(hex32).min(1).max(MAX_INPUTS),
    sig,
  })
  .strict();

/**
 * Another peer's signed round message passed on: evidence of an equivocation (the two messages go
 * out as two relays) or the message behind a disagreement. `payload` keeps its author's `sig`
 * and is checked against the author's verifying share and the schema of `type`.
 */
const relayOf = <T extends string, S extends z.ZodTypeAny>(type: T, payload: S) =>
  z.object({ peer: peerId, type: z.literal(type), payload, sig }).strict();

export const relayPayloadSchema = z.discriminatedUnion('type', [
  relayOf('sign.candidate', candidatePayloadSchema),
  relayOf('sign.proposal', proposalPayloadSchema),
  relayOf('sign.set', signingSetPayloadSchema),
  relayOf('sign.checksum', checksumPayloadSchema),
  relayOf('sign.commit', commitPayloadSchema),
  relayOf('sign.ack', ackPayloadSchema),
  relayOf('sign.share', sharePayloadSchema),
]);

export const finalPayloadSchema = z
  .object({
    txid: hex32,
    tx: z.string().regex(/^(?:[0-9a-f]{2})+$/).max(2 * 400_000),
  })
  .strict();

/** A message body as built locally (the sender's `sig` is added on the way out) or as received (with it). */
type Body<T> = Omit<T, 'sig'> & { sig?: string };
export type CandidatePayload = Body<z.infer<typeof candidatePayloadSchema>>;
export type ProposalPayload = Body<z.infer<typeof proposalPayloadSchema>>;
export type SigningSetPayload = Body<z.infer<typeof signingSetPayloadSchema>>;
export type ChecksumPayload = Body<z.infer<typeof checksumPayloadSchema>>;
export type CommitPayload = Body<z.infer<typeof commitPayloadSchema>>;
export type SharePayload = Body<z.infer<typeof sharePayloadSchema>>;
export type FinalPayload = z.infer<typeof finalPayloadSchema>;
export type AckPayload = Body<z.infer<typeof ackPayloadSchema>>;
export type RelayPayload = Body<z.infer<typeof relayPayloadSchema>>;

export const MSG = {
  candidate: 'sign.candidate',
  proposal: 'sign.proposal',
  signingSet: 'sign.set',
  checksum: 'sign.checksum',
  commit: 'sign.commit',
  ack: 'sign.ack',
  share: 'sign.share',
  final: 'sign.final',
  relay: 'sign.relay',
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
  [MSG.ack]: { schema: ackPayloadSchema, maxBytes: 48 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
  // Carries one commit at most (the largest message type) plus its wrapper.
  [MSG.relay]: { schema: relayPayloadSchema, maxBytes: 900 * 1024, topic: SIGNING_TOPIC, freshness: { maxRoundsBehind: 0, maxRoundsAhead: 1 } },
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
