// May this node adopt this epoch record? One pure function, applied the same way to a record
// from this node's own ceremony (EpochManager.adopt) and to one offered by a peer through epoch
// sync (EpochManager.importPublic). The rules are the federation's trust model (README, "Trust
// model"): no set of fewer than t_old members of the current committee, with any number of
// staked non-members, can make an honest node adopt a new key, committee or threshold.
//
//   every record   network is ours; t >= 2; t is the one the committee size gives
//                  (floor(2n/3)+1, or the configured fixed threshold); n <= committee.max;
//                  n >= the network's minimum committee size; every committee member signed;
//                  no signature from anyone but the committee and (consent) the previous one;
//                  members are staked peers known here, listed in seniority order
//   first epoch    (no previous) keygen epoch 1 while no key is held here; while keygen is open;
//                  its n members hold at least two thirds of the n most senior staked peers
//                  this node knows (a forger must own most of the oldest stakes)
//   later epochs   epoch = previous + 1, previous = the epoch in force here; at least t_old
//                  members of the previous committee signed (the current key holders consent)
//   keygen         only while keygen is open: the attempt started before keygen_until
//   regroup        the key, internal key and vault address are the previous epoch's, and the
//                  new committee's test signature verifies under that unchanged key
//
// A refusal says whether it may pass later without anything changing in the record
// (`retry`: e.g. a member's stake is not visible here yet, or the previous epoch is unknown):
// "not yet eligible" is not a violation and blames no one.
import { verifyBip340 } from '../crypto/signing.js';
import type { Network } from '../chain/types.js';
import { committeeThreshold, compareSeniority, type StakedPeer } from '../rounds/committee.js';
import { errorMessage } from '../util/errors.js';
import { regroupTestMessage, type EpochRecord } from './record.js';

/** Smallest committee a mainnet key may have (n = 3f + 1 with f = 1); other networks: 2. */
export const MAINNET_MIN_COMMITTEE = 4;
export const MIN_COMMITTEE = 2;

export function minCommitteeSize(network: Network): number {
  return network === 'mainnet' ? MAINNET_MIN_COMMITTEE : MIN_COMMITTEE;
}

export interface AdoptionRules {
  network: Network;
  /** committee.max */
  committeeMax: number;
  /** committee.threshold (fixed), when configured. */
  threshold?: number;
  /** schedule.keygenUntil in ms; null = keygen never closes. */
  keygenUntil: number | null;
}

export interface AdoptionInput {
  record: EpochRecord;
  /** Peer ids whose identity signature over exactly this record verified (callers verify). */
  signers: readonly string[];
  /** Signatures that did not verify, by peer id (any one refuses the record). */
  invalidSigners?: readonly string[];
  /** The record of the epoch `record.previousEpoch` names, as stored here; null if none/unknown. */
  previous: EpochRecord | null;
  /** The epoch in force here (adopted or locked), null before the first key. */
  current: EpochRecord | null;
  /** Staked peers this node knows (stake verified on its own chain view), whatever their liveness. */
  staked: readonly StakedPeer[];
  rules: AdoptionRules;
}

export type AdoptionRule =
  | 'network'
  | 'threshold'
  | 'committee-size'
  | 'signatures'
  | 'committee-stake'
  | 'committee-order'
  | 'first-epoch'
  | 'chain'
  | 'consent'
  | 'keygen-closed'
  | 'regroup-key'
  | 'regroup-test-signature';

export type AdoptionVerdict = { ok: true } | { ok: false; rule: AdoptionRule; reason: string; retry: boolean };

const refuse = (rule: AdoptionRule, reason: string, retry = false): AdoptionVerdict => ({ ok: false, rule, reason, retry });

export function checkAdoption(input: AdoptionInput): AdoptionVerdict {
  const { record: r, rules } = input;
  const n = r.committee.length;
  if (r.network !== rules.network) return refuse('network', `record is for network ${r.network}, not ${rules.network}`);

  // Size and threshold.
  if (r.threshold < 2) return refuse('threshold', `threshold ${r.threshold} is below 2: one member alone would hold the key`);
  const min = minCommitteeSize(rules.network);
  if (n < min) return refuse('committee-size', `committee of ${n} is below the minimum of ${min} on ${rules.network}`);
  if (n > rules.committeeMax) return refuse('committee-size', `committee of ${n} exceeds committee.max ${rules.committeeMax}`);
  let want: number;
  try {
    want = committeeThreshold(n, rules.threshold);
  } catch (e) {
    return refuse('threshold', errorMessage(e));
  }
  if (r.threshold !== want) return refuse('threshold', `threshold ${r.threshold} is not the ${want} a committee of ${n} has`);

  // Signatures: all of the committee; besides them only (consenting) previous members.
  if (input.invalidSigners?.length) return refuse('signatures', `invalid signature from ${input.invalidSigners.join(', ')}`);
  const signed = new Set(input.signers);
  const missing = r.committee.filter((m) => !signed.has(m.peerId)).map((m) => m.peerId);
  if (missing.length) return refuse('signatures', `missing signature of committee member ${missing.join(', ')}`);
  const allowed = new Set([...r.committee, ...(input.previous?.committee ?? [])].map((m) => m.peerId));
  const outsiders = [...signed].filter((p) => !allowed.has(p));
  if (outsiders.length) return refuse('signatures', `signature from outside the committee: ${outsiders.join(', ')}`);

  // Members: staked peers known here, in seniority order. The first epoch is the exception: a
  // node that joins later may never see a first-committee member that has since gone offline,
  // so there the two-thirds rule below carries the weight (members unknown here count for
  // nothing, and the known ones must be the oldest stakes), and order is checked among the known.
  const stakeOf = new Map(input.staked.map((s) => [s.peerId, s]));
  const unknown = r.committee.filter((m) => !stakeOf.has(m.peerId)).map((m) => m.peerId);
  if (unknown.length && r.previousEpoch !== null) return refuse('committee-stake', `committee member ${unknown.join(', ')} has no stake known here (not yet eligible)`, true);
  const known = r.committee.filter((m) => stakeOf.has(m.peerId));
  for (let i = 1; i < known.length; i++) {
    if (compareSeniority(stakeOf.get(known[i - 1].peerId)!, stakeOf.get(known[i].peerId)!) >= 0)
      return refuse('committee-order', `committee is not in seniority order at ${known[i].peerId}`);
  }

  const keygenOpen = rules.keygenUntil === null || r.attempt.startedAt < rules.keygenUntil;
  if (r.kind === 'keygen' && !keygenOpen)
    return refuse('keygen-closed', `keygen attempt started at ${new Date(r.attempt.startedAt).toISOString()}, after keygen_until ${new Date(rules.keygenUntil!).toISOString()}: the key is locked in`);

  if (r.previousEpoch === null) {
    if (r.kind !== 'keygen' || r.epoch !== 1) return refuse('chain', 'only the first keygen epoch (1) may have no previous epoch');
    if (input.current) return refuse('chain', `a first epoch while epoch ${input.current.epoch} is in force here`);
    // The first keygen's committee was the top n by seniority when it ran; peers staked since
    // are junior, so they do not dilute this count as the federation grows.
    const top = [...input.staked].sort(compareSeniority).slice(0, n);
    const members = new Set(r.committee.map((m) => m.peerId));
    const held = top.filter((s) => members.has(s.peerId)).length;
    if (3 * held < 2 * top.length)
      return refuse('first-epoch', `the first committee holds ${held} of the ${top.length} most senior staked peers known here; needs two thirds`, true);
    return { ok: true };
  }

  // Later epochs: chain on the epoch in force, with the consent of its key holders.
  const prev = input.previous;
  if (!prev || prev.epoch !== r.previousEpoch) return refuse('chain', `previous epoch ${r.previousEpoch} is not known here`, true);
  if (prev.network !== r.network) return refuse('chain', 'previous epoch is for another network');
  if (!input.current || input.current.epoch !== prev.epoch) return refuse('chain', `previous epoch ${prev.epoch} is not the epoch in force here (${input.current?.epoch ?? 'none'})`);
  if (r.epoch !== prev.epoch + 1) return refuse('chain', `epoch ${r.epoch} does not follow epoch ${prev.epoch}`);
  const consenting = prev.committee.filter((m) => signed.has(m.peerId)).length;
  if (consenting < prev.threshold)
    return refuse('consent', `only ${consenting} of the previous committee signed; its threshold is ${prev.threshold}`);

  if (r.kind === 'regroup') {
    if (prev.outputKey !== r.outputKey || prev.internalKey !== r.internalKey || prev.vaultAddress !== r.vaultAddress)
      return refuse('regroup-key', `regroup changes the key of epoch ${prev.epoch}`);
    if (!r.testSignature || !verifyBip340(r.testSignature, regroupTestMessage(r.network, r.epoch, r.outputKey), r.outputKey))
      return refuse('regroup-test-signature', 'regroup test signature does not verify against the vault key');
  }
  return { ok: true };
}
