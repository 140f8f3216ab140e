// Attempt identity. Every keygen or regroup attempt creates the next epoch number, so honest
// retries (an attempt that timed out, then one that succeeded) share an epoch number. What tells
// them apart is the attempt: the slot it started in and an id derived from its plan. Every epoch
// record carries its attempt, so two records of different attempts never "look alike", and an
// honest member, which signs at most one record per attempt (its ceremony state is in memory and
// a restarted node only joins later slots), never signs two different records of one attempt.
// That pair of signatures is therefore the only equivocation evidence (src/epochs/evidence.ts).
//
// For complaint rounds and other consumers: an attempt is (network, epoch, attempt.id);
// attempt.id commits to kind, network, epoch, startedAt and the plan hash below, so it can be
// recomputed from the plan by anyone who knows the plan.
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { CommitteeMember } from '../crypto/types.js';
import { canonicalJson } from './canonical.js';

export const AttemptSchema = z
  .object({
    /** Start of the slot the attempt ran in (ms since the Unix epoch; round x round length), the same on every participant. */
    startedAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** attemptId() of the attempt's plan: 32-byte lowercase hex. */
    id: z.string().regex(/^[0-9a-f]{64}$/, 'expected 32-byte lowercase hex'),
  })
  .strict();
export type Attempt = z.infer<typeof AttemptSchema>;

export interface AttemptPlan {
  kind: 'keygen' | 'regroup';
  network: string;
  epoch: number;
  startedAt: number;
  /** Hash of what the participants agreed to do (keygenPlanHash / regroupPlanHash). */
  planHash: string;
}

export function attemptId(p: AttemptPlan): string {
  return bytesToHex(sha256(utf8ToBytes('metanode/attempt/v1\n' + canonicalJson({ kind: p.kind, network: p.network, epoch: p.epoch, startedAt: p.startedAt, plan: p.planHash }))));
}

export function makeAttempt(p: AttemptPlan): Attempt {
  return { startedAt: p.startedAt, id: attemptId(p) };
}

/** The keygen plan: who generates the key, with which threshold, replacing which epoch. */
export function keygenPlanHash(p: { network: string; epoch: number; previousEpoch: number | null; committee: readonly CommitteeMember[]; threshold: number; rewardAddresses?: Readonly<Record<string, string>> }): string {
  const plan = { network: p.network, epoch: p.epoch, previousEpoch: p.previousEpoch, committee: planCommittee(p.committee, p.rewardAddresses), threshold: p.threshold };
  return bytesToHex(sha256(utf8ToBytes('metanode/keygen-plan/v1\n' + canonicalJson(plan))));
}

/**
 * The committee as a plan covers it: [peerId, identifier], plus the reward address the record
 * will carry for the member when there is one. Members that see different reward addresses
 * compute different plans (so different attempt ids): the attempt fails as a disagreement, and
 * nobody signs two records of one attempt (which would be equivocation evidence).
 */
export function planCommittee(committee: readonly CommitteeMember[], rewardAddresses: Readonly<Record<string, string>> = {}): string[][] {
  return committee.map((m) => (Object.hasOwn(rewardAddresses, m.peerId) ? [m.peerId, m.identifier, rewardAddresses[m.peerId]!] : [m.peerId, m.identifier]));
}
