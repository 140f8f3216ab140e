// Protocol-violation evidence that may change the committee. Only evidence that any node can
// check on its own counts: two epoch records for the same (network, epoch) that differ, both
// signed by the same peer's identity key (an equivocation). Everything else a node observes
// (timeouts, a bad share on a private stream, an invalid ping, its blocklist) is only its own
// word and is recorded locally, but never removes a peer from the committee: otherwise one
// node, or a cartel, could keep honest peers out of regroup.
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
  if (recordHash(a.record) === recordHash(b.record)) return { ok: false, reason: 'records are identical: no equivocation' };
  if (!a.record.committee.some((m) => m.peerId === ev.peerId)) return { ok: false, reason: 'accused peer is not in the committee of the record it signed' };
  if (!(await verifyAttestation(a.record, a.attestation, verify)) || !(await verifyAttestation(b.record, b.attestation, verify)))
    return { ok: false, reason: 'a signature does not verify' };
  return { ok: true, violation: { peerId: ev.peerId, evidence: ev } as VerifiedViolation };
}
