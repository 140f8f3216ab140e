// Regroup wire messages. Gossip on topic 'regroup'; sub-shares are a direct kind.
import { z } from 'zod';
import { AttestationSchema, KeyCommitteeMemberSchema, EpochRecordSchema, NetworkSchema } from '../../epochs/record.js';
import { AbortSchema, DirectAckSchema, wirePoint } from '../keygen/messages.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes}-byte lowercase hex`);
const MAX = 1000;

export const REGROUP_TOPIC = 'regroup';
export const RegroupTypes = {
  agree: 'regroup.agree',
  dealing: 'regroup.dealing',
  subshare: 'regroup.subshare',
  commit: 'regroup.commit',
  sigshare: 'regroup.sigshare',
  attest: 'regroup.attest',
  abort: 'regroup.abort',
} as const;

/** Hash of (old epoch, dealers, new committee, new threshold) as this node computed them. */
export const AgreeSchema = z.object({ planHash: hex(32) }).strict();
/** Dealings and nonce commitments carry uncompressed points (keygen/messages.ts wirePoint); the stored EpochKey keeps compressed ones. */
export const DealingSchema = z.object({ from: hex(32), commitment: z.array(wirePoint).min(1).max(MAX) }).strict();
export const SubShareSchema = z.object({ from: hex(32), to: hex(32), subShare: hex(32) }).strict();
export const CommitSchema = z.object({ commitments: z.array(z.object({ identifier: hex(32), hiding: wirePoint, binding: wirePoint }).strict()).length(1) }).strict();
export const SigShareSchema = z.object({ shares: z.array(hex(32)).length(1) }).strict();
export const EpochKeySchema = z
  .object({
    epoch: z.number().int().min(1),
    network: NetworkSchema,
    outputKey: hex(32),
    internalKey: hex(32),
    threshold: z.number().int().min(1),
    committee: z.array(KeyCommitteeMemberSchema).min(1).max(MAX),
    verifyingShares: z.record(hex(32), hex(33)),
    commitments: z.array(hex(33)).min(1).max(MAX),
  })
  .strict();
/** The record attestation plus the public key material, so members that leave can verify and store it. */
export const RegroupAttestSchema = z.object({ record: EpochRecordSchema, attestation: AttestationSchema, key: EpochKeySchema }).strict();

export const regroupGossipSpecs = {
  [RegroupTypes.agree]: { schema: AgreeSchema, maxBytes: 4 * 1024, topic: REGROUP_TOPIC },
  // 1000 commitment points of 133 JSON bytes each (133 KB) plus the envelope.
  [RegroupTypes.dealing]: { schema: DealingSchema, maxBytes: 160 * 1024, topic: REGROUP_TOPIC },
  [RegroupTypes.commit]: { schema: CommitSchema, maxBytes: 8 * 1024, topic: REGROUP_TOPIC },
  [RegroupTypes.sigshare]: { schema: SigShareSchema, maxBytes: 4 * 1024, topic: REGROUP_TOPIC },
  [RegroupTypes.attest]: { schema: RegroupAttestSchema, maxBytes: 512 * 1024, topic: REGROUP_TOPIC },
  [RegroupTypes.abort]: { schema: AbortSchema, maxBytes: 64 * 1024, topic: REGROUP_TOPIC },
} as const;

export const regroupDirectSpecs = {
  [RegroupTypes.subshare]: { request: SubShareSchema, response: DirectAckSchema, maxRequestBytes: 4 * 1024, maxResponseBytes: 256 },
} as const;
