// Protocol-violation evidence that may change the committee. Only evidence that any node can
// check on its own counts: two different final epoch records of the SAME attempt (same network,
// epoch and attempt id, src/epochs/attempt.ts), both signed by the same committee member's
// identity key (an equivocation). Everything else a node observes (timeouts, a bad share on a
// private stream, an invalid ping, its blocklist) is only its own word and is recorded locally,
// but never removes a peer from the committee: otherwise one node, or a cartel, could keep
// honest peers out of regroup.
//
// Why honest behaviour cannot produce it: an honest member signs at most one record per attempt
// (the record is signed once, in the attest phase, from ceremony state kept in memory only; a
// restarted node joins later attempts, whose start slot and so attempt id differ). Records of
// different attempts of one epoch number (a timed-out attempt, then a successful retry) never
// form evidence. Callers take evidence only from records that passed full validation first.
//
// Effect: a verified violation excludes the accused peer id from every committee computed after
// it is stored (computeRegroupCommittee), for good. The evidence proves that the peer's identity
// key signed two conflicting statements about one attempt: that key is malicious or
// compromised, and neither may hold a share again. The operator can rejoin only with a new
// identity and a new stake (which starts with the lowest seniority). The evidence row is kept.
import { z } from 'zod';
import { AttestationSchema, EpochRecordSchema, recordHash, type EpochRecord, type Attestation } from './record.js';
import { verifyAttestation, verifyWithPeerId, type VerifyFn } from './attest.js';

export const EquivocationEvidenceSchema = z
  .object({
    kind: z.literal('attestation-equivocation'),
    peerId: z.string().min(1).max(256),
    a: z.object({ record: EpochRecordSchema, attestation: AttestationSchema }).strict(),
    b: z.object({ record: EpochRecordSchema, attestation: AttestationSchema }).strict(),
  })
  .strict();
export type ViolationEvidence = z.infer<typeof EquivocationEvidenceSchema>;

declare const verifiedBrand: unique symbol;
/** Evidence that passed verifyViolation(); only this type feeds the committee computation. */
export type VerifiedViolation = { readonly peerId: string; readonly evidence: ViolationEvidence; readonly [verifiedBrand]: true };

export function equivocationEvidence(peerId: string, a: { record: EpochRecord; attestation: Attestation }, b: { record: EpochRecord; attestation: Attestation }): ViolationEvidence {
  return { kind: 'attestation-equivocation', peerId, a, b };
}

/** Returns the verified violation, or a reason why the evidence proves nothing. */
export async function verifyViolation(input: unknown, verify: VerifyFn = verifyWithPeerId): Promise<{ ok: true; violation: VerifiedViolation } | { ok: false; reason: string }> {
  const p = EquivocationEvidenceSchema.safeParse(input);
  if (!p.success) return { ok: false, reason: `malformed evidence: ${p.error.issues[0]?.message ?? 'invalid'}` };
  const ev = p.data;
  const { a, b } = ev;
  if (a.attestation.peerId !== ev.peerId || b.attestation.peerId !== ev.peerId) return { ok: false, reason: 'attestations are not both by the accused peer' };
  if (a.record.network !== b.record.network || a.record.epoch !== b.record.epoch) return { ok: false, reason: 'records are for different epochs: no equivocation' };
  if (a.record.attempt.id !== b.record.attempt.id || a.record.attempt.startedAt !== b.record.attempt.startedAt)
    return { ok: false, reason: 'records are of different attempts (an honest retry): no equivocation' };
  if (recordHash(a.record) === recordHash(b.record)) return { ok: false, reason: 'records are identical: no equivocation' };
  if (!a.record.committee.some((m) => m.peerId === ev.peerId) || !b.record.committee.some((m) => m.peerId === ev.peerId))
    return { ok: false, reason: 'accused peer is not in the committee of both records it signed' };
  if (!(await verifyAttestation(a.record, a.attestation, verify)) || !(await verifyAttestation(b.record, b.attestation, verify)))
    return { ok: false, reason: 'a signature does not verify' };
  return { ok: true, violation: { peerId: ev.peerId, evidence: ev } as VerifiedViolation };
}
