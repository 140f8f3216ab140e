// The epoch record: the public statement every committee member signs before a key (or a new
// set of shares) is adopted. Its canonical bytes are what the Ed25519 identity signatures
// cover, so two nodes agree on an epoch exactly when they signed the same bytes.
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes, concatBytes } from '@noble/hashes/utils.js';
import type { EpochKey } from '../crypto/types.js';
import { canonicalJson } from './canonical.js';
import { AttemptSchema } from './attempt.js';
import { addressToScript } from '../chain/network.js';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes}-byte lowercase hex`);
export const NetworkSchema = z.enum(['regtest', 'testnet', 'signet', 'mainnet']);
/** A committee member as the key material (EpochKey) lists it. */
export const KeyCommitteeMemberSchema = z.object({ peerId: z.string().min(1).max(256), identifier: hex(32) }).strict();
/**
 * A record's entry adds rewardAddress: the reward address of the member's stake (its OP_RETURN,
 * verified on chain) when the record was made; every member signs the whole record, so each
 * consented to its own entry. Rewards a member accrued are paid there after it left the committee
 * (src/custody/leavers.ts). Optional: records made before it existed stay valid; when present it
 * must be an address of the record's network (checked below, wherever a record is parsed).
 */
export const CommitteeMemberSchema = KeyCommitteeMemberSchema.extend({ rewardAddress: z.string().min(14).max(100).optional() }).strict();

export const EpochRecordSchema = z
  .object({
    version: z.literal(1),
    /** keygen = fresh DKG key; regroup = same key, reshared to a new committee. */
    kind: z.enum(['keygen', 'regroup']),
    network: NetworkSchema,
    epoch: z.number().int().min(1),
    /** Which attempt made this record (src/epochs/attempt.ts): retries of one epoch number differ here. */
    attempt: AttemptSchema,
    /** The epoch this one replaces (null for the first keygen). */
    previousEpoch: z.number().int().min(1).nullable(),
    /** Taproot output key Q (x-only) = the vault key. */
    outputKey: hex(32),
    /** Taproot internal key P (x-only). */
    internalKey: hex(32),
    vaultAddress: z.string().min(14).max(100),
    committee: z.array(CommitteeMemberSchema).min(1).max(1000),
    threshold: z.number().int().min(1),
    /** Keygen: dkgTranscriptHash of the round-1 packages; regroup: hash of the dealings. */
    transcriptHash: hex(32),
    /** sha256 of the canonical EpochKey (verifying shares, commitments): all members hold the same public key material. */
    keyHash: hex(32),
    /** Regroup: BIP340 signature by the new committee over regroupTestMessage(). */
    testSignature: hex(64).nullable(),
  })
  .strict()
  .refine((r) => r.threshold <= r.committee.length, { message: 'threshold exceeds committee size' })
  .superRefine((r, ctx) => {
    r.committee.forEach((m, i) => {
      if (m.rewardAddress === undefined) return;
      try {
        addressToScript(m.rewardAddress, r.network);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['committee', i, 'rewardAddress'], message: `reward address of ${m.peerId} is not a ${r.network} address` });
      }
    });
  });
export type EpochRecord = z.infer<typeof EpochRecordSchema>;

export const AttestationSchema = z.object({ peerId: z.string().min(1).max(256), signature: hex(64) }).strict();
export type Attestation = z.infer<typeof AttestationSchema>;

export const EpochStatusSchema = z.enum(['adopted', 'locked', 'retired']);
export type EpochStatus = z.infer<typeof EpochStatusSchema>;

/** What /v1/epochs serves, one per epoch. */
export const SignedEpochRecordSchema = z.object({ record: EpochRecordSchema, signatures: z.array(AttestationSchema).max(1000), status: EpochStatusSchema }).strict();
export type SignedEpochRecord = z.infer<typeof SignedEpochRecordSchema>;
/**
 * /v1/epochs as the attestation checker reads it: each entry may also carry the node's public
 * key material and view (key, active, vaultAddress; see src/api/epochs-schema.ts for the full
 * entry). Only the signed record matters for attestations, so those extras are accepted unchecked.
 */
export const EpochsResponseSchema = z
  .object({
    epochs: z.array(SignedEpochRecordSchema.extend({ key: z.unknown().optional(), active: z.boolean().optional(), vaultAddress: z.string().max(100).optional() }).strict()).max(100000),
  })
  .strict();

export { canonicalJson };

const RECORD_TAG = utf8ToBytes('metanode/epoch-record/v1\n');

/** The bytes an identity signature covers: a domain tag, then the canonical JSON. */
export function recordBytes(record: EpochRecord): Uint8Array {
  return concatBytes(RECORD_TAG, utf8ToBytes(canonicalJson(record)));
}

/** The committee as the key material lists it (peer id and FROST identifier, no reward address). */
export function keyCommittee(committee: ReadonlyArray<{ peerId: string; identifier: string }>): Array<{ peerId: string; identifier: string }> {
  return committee.map((m) => ({ peerId: m.peerId, identifier: m.identifier }));
}

/** A record's committee entries: the key committee, with each member's reward address when known. */
export function recordCommittee(committee: ReadonlyArray<{ peerId: string; identifier: string }>, rewardAddresses: Readonly<Record<string, string>> = {}): EpochRecord['committee'] {
  return committee.map((m) => {
    const a = Object.hasOwn(rewardAddresses, m.peerId) ? rewardAddresses[m.peerId] : undefined;
    return a === undefined ? { peerId: m.peerId, identifier: m.identifier } : { peerId: m.peerId, identifier: m.identifier, rewardAddress: a };
  });
}

export function recordHash(record: EpochRecord): string {
  return bytesToHex(sha256(recordBytes(record)));
}

export function epochKeyHash(key: EpochKey): string {
  return bytesToHex(sha256(utf8ToBytes('metanode/epoch-key/v1\n' + canonicalJson(key))));
}

/** The fixed, tagged message a new regroup committee signs to prove its shares work (32 bytes hex). */
export function regroupTestMessage(network: string, epoch: number, outputKey: string): string {
  return bytesToHex(sha256(utf8ToBytes(`metanode/regroup-test/v1\n${network}\n${epoch}\n${outputKey}`)));
}
