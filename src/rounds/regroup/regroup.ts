// One regroup attempt (seed 004 "Regroup"): the same key, reshared to a new committee.
// Roles: dealer (one of the t old holders taking part), member (of the new committee), observer
// (neither: an old holder that leaves, or any node following along). Phases:
//   agree     dealers and members publish the hash of the plan they computed (old epoch,
//             dealers, new committee, threshold); any difference aborts before any secret moves,
//             so no honest dealer is blamed for dealing to a different committee
//   deal      dealers broadcast Feldman commitments and send sub-shares point-to-point;
//             members run reshareReceive (which names bad dealers)
//   commit    members publish FROST nonce commitments for the fixed test message
//   sigshare  members publish signature shares; aggregation verifies each (names bad signers)
//   attest    members sign the epoch record carrying the test signature, and so do dealers
//             that leave the committee (the current key holders consent: a regroup record is
//             adopted only with at least t_old signatures of the old committee, see
//             src/epochs/adoption.ts); everyone, observers included, checks the BIP340 test
//             signature against the unchanged vault key
// Only then does a node switch (EpochManager.adopt: new share + record in one step, old share
// destroyed). Any failure: nothing is adopted, the old shares stay in use.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { reshareDeal, reshareReceive, type ReshareDealing, type ReshareSubShare } from '../../crypto/reshare.js';
import { signingCommit, signShares, aggregateSignatures, verifyBip340, type NonceCommitment, type SigningNonces } from '../../crypto/signing.js';
import { vaultAddress } from '../../crypto/taproot.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../../crypto/types.js';
import type { Network } from '../../chain/types.js';
import { canonicalJson, epochKeyHash, recordCommittee, recordHash, regroupTestMessage, type Attestation, type EpochRecord } from '../../epochs/record.js';
import { failure, failureFrom, type CeremonyFailure, type LogLine, type Outgoing, type Step } from '../keygen/ceremony.js';
import { RegroupTypes } from './messages.js';
import { makeAttempt, planCommittee, type Attempt } from '../../epochs/attempt.js';
import type { AbortPayload } from '../keygen/messages.js';

export type RegroupPhase = 'agree' | 'deal' | 'commit' | 'sigshare' | 'attest' | 'done' | 'failed';

export interface RegroupTimeouts {
  agree: number;
  deal: number;
  commit: number;
  sigshare: number;
  attest: number;
}
export const DEFAULT_REGROUP_TIMEOUTS: RegroupTimeouts = { agree: 15_000, deal: 20_000, commit: 15_000, sigshare: 15_000, attest: 15_000 };

export interface RegroupParams {
  network: Network;
  /** The epoch this regroup creates (old epoch + 1 or later). */
  epoch: number;
  round: number;
  /** Start of the attempt's slot (ms, round x round length): part of the attempt identity. */
  startedAt: number;
  self: string;
  /** The key in force (public part). */
  oldKey: EpochKey;
  /** This node's share of oldKey; required when it deals. */
  oldShare: KeyShare | null;
  /** The first t available old holders, in old committee order. */
  dealers: CommitteeMember[];
  newCommittee: CommitteeMember[];
  newThreshold: number;
  /** Reward address per new member, from its verified stake; goes into the record (and the plan hash). */
  rewardAddresses?: Record<string, string>;
  timeouts: RegroupTimeouts;
}

export interface RegroupResult {
  record: EpochRecord;
  signatures: Attestation[];
  key: EpochKey;
  /** null on observers and dealers that leave the committee. */
  share: KeyShare | null;
}

interface AttestIn {
  record: EpochRecord;
  attestation: Attestation;
  key: EpochKey;
}

export interface RegroupState {
  params: RegroupParams;
  phase: RegroupPhase;
  deadline: number;
  role: { dealer: boolean; member: boolean };
  planHash: string;
  agrees: Record<string, string>;
  dealings: Record<string, ReshareDealing>;
  subShares: Record<string, ReshareSubShare>;
  newKey: EpochKey | null;
  newShare: KeyShare | null;
  /** In memory only, single use. */
  nonces: SigningNonces | null;
  commits: Record<string, NonceCommitment[]>;
  sigShares: Record<string, string[]>;
  pending: { record: EpochRecord; hash: string } | null;
  attestations: Record<string, AttestIn>;
  result: RegroupResult | null;
  failure: CeremonyFailure | null;
}

export type RegroupEvent = { kind: 'tick'; now: number } | { kind: 'message'; now: number; from: string; type: string; payload: unknown };

/** The plan every participant must agree on before anything secret is sent. */
export function regroupPlanHash(p: Pick<RegroupParams, 'network' | 'epoch' | 'oldKey' | 'dealers' | 'newCommittee' | 'newThreshold' | 'rewardAddresses'>): string {
  const plan = {
    network: p.network,
    epoch: p.epoch,
    oldEpoch: p.oldKey.epoch,
    outputKey: p.oldKey.outputKey,
    dealers: p.dealers.map((d) => d.peerId),
    committee: planCommittee(p.newCommittee, p.rewardAddresses),
    threshold: p.newThreshold,
  };
  return bytesToHex(sha256(utf8ToBytes('metanode/regroup-plan/v1\n' + canonicalJson(plan))));
}

const ids = (ms: CommitteeMember[]) => ms.map((m) => m.peerId);
function participants(p: RegroupParams): string[] {
  return [...new Set([...ids(p.dealers), ...ids(p.newCommittee)])];
}
function attemptOf(p: RegroupParams, planHash: string): Attempt {
  return makeAttempt({ kind: 'regroup', network: p.network, epoch: p.epoch, startedAt: p.startedAt, planHash });
}
/** Signers of the record: every new member, then the dealers that leave (in dealer order). */
function signersOf(p: RegroupParams): string[] {
  return participants(p).filter((x) => ids(p.newCommittee).includes(x)).concat(ids(p.dealers).filter((x) => !ids(p.newCommittee).includes(x)));
}
function testMessage(p: RegroupParams): string {
  return regroupTestMessage(p.network, p.epoch, p.oldKey.outputKey);
}

export function regroupInit(params: RegroupParams, now: number): Step<RegroupState> {
  const role = { dealer: ids(params.dealers).includes(params.self), member: ids(params.newCommittee).includes(params.self) };
  const planHash = regroupPlanHash(params);
  const base: RegroupState = {
    params, phase: 'agree', deadline: now + params.timeouts.agree, role, planHash, agrees: {}, dealings: {}, subShares: {}, newKey: null, newShare: null,
    nonces: null, commits: {}, sigShares: {}, pending: null, attestations: {}, result: null, failure: null,
  };
  if (role.dealer && (!params.oldShare || params.oldShare.epoch !== params.oldKey.epoch)) {
    // E.g. it learned the old epoch by epoch sync only. Say so at once, so the others abort
    // instead of waiting out the agree phase; the next attempt picks dealers that hold shares.
    const f = failure('KEYSTORE', 'dealer has no share of the old epoch', [], { phase: 'init' });
    return {
      state: { ...base, phase: 'failed', failure: f },
      outbox: [{ to: 'gossip', type: RegroupTypes.abort, payload: { code: f.code, message: f.message, culprits: [] } satisfies AbortPayload }],
      log: [{ level: 'warn', msg: 'regroup cannot start: this dealer holds no share of the old epoch', data: { epoch: params.epoch, oldEpoch: params.oldKey.epoch } }],
    };
  }
  const log: LogLine[] = [{ level: 'info', msg: 'regroup started', data: { epoch: params.epoch, role, dealers: ids(params.dealers), committee: ids(params.newCommittee) } }];
  if (!role.dealer && !role.member) {
    // Observers only wait for the members' attestations, for as long as the whole ceremony may take.
    const t = params.timeouts;
    return { state: { ...base, phase: 'attest', deadline: now + t.agree + t.deal + t.commit + t.sigshare + t.attest }, outbox: [], log };
  }
  const state = { ...base, agrees: { [params.self]: planHash } };
  return advance(state, now, [{ to: 'gossip', type: RegroupTypes.agree, payload: { planHash } }], log);
}

export function regroupStep(state: RegroupState, ev: RegroupEvent): Step<RegroupState> {
  if (state.phase === 'done' || state.phase === 'failed') return { state, outbox: [], log: [] };
  const { params } = state;
  if (ev.kind === 'tick') {
    if (ev.now < state.deadline) return { state, outbox: [], log: [] };
    const silent = silentMembers(state);
    return fail(state, failure('TIMEOUT', `regroup ${state.phase} phase timed out`, silent, { phase: state.phase, silent }));
  }
  const { from, type, payload, now } = ev;
  const dealer = params.dealers.find((d) => d.peerId === from);
  const member = params.newCommittee.find((m) => m.peerId === from);
  const ignore = (reason: string): Step<RegroupState> => ({ state, outbox: [], log: [{ level: 'debug', msg: 'regroup message ignored', data: { reason, from, type } }] });
  switch (type) {
    case RegroupTypes.agree: {
      if (!dealer && !member) return ignore('not a participant');
      if (state.agrees[from]) return ignore('duplicate');
      return advance({ ...state, agrees: { ...state.agrees, [from]: (payload as { planHash: string }).planHash } }, now, [], []);
    }
    case RegroupTypes.dealing: {
      if (!dealer) return ignore('not a dealer');
      const d = payload as ReshareDealing;
      if (d.from !== dealer.identifier) return fail(state, failure('INVALID_MESSAGE', 'dealing claims another dealer', [from], { phase: 'deal' }));
      if (state.dealings[from]) return ignore('duplicate');
      return advance({ ...state, dealings: { ...state.dealings, [from]: d } }, now, [], []);
    }
    case RegroupTypes.subshare: {
      if (!dealer) return ignore('not a dealer');
      const s = payload as ReshareSubShare;
      const me = params.newCommittee.find((m) => m.peerId === params.self);
      if (!me) return ignore('not a member of the new committee');
      if (s.from !== dealer.identifier || s.to !== me.identifier) return fail(state, failure('INVALID_MESSAGE', 'sub-share with wrong sender or recipient', [from], { phase: 'deal' }));
      if (state.subShares[from]) return ignore('duplicate');
      return advance({ ...state, subShares: { ...state.subShares, [from]: s } }, now, [], []);
    }
    case RegroupTypes.commit: {
      if (!member) return ignore('not a member');
      const c = (payload as { commitments: NonceCommitment[] }).commitments;
      if (c.some((x) => x.identifier !== member.identifier)) return fail(state, failure('INVALID_NONCE_COMMITMENT', 'nonce commitment for another identifier', [from], { phase: 'commit' }));
      if (state.commits[member.identifier]) return ignore('duplicate');
      return advance({ ...state, commits: { ...state.commits, [member.identifier]: c } }, now, [], []);
    }
    case RegroupTypes.sigshare: {
      if (!member) return ignore('not a member');
      if (state.sigShares[member.identifier]) return ignore('duplicate');
      return advance({ ...state, sigShares: { ...state.sigShares, [member.identifier]: (payload as { shares: string[] }).shares } }, now, [], []);
    }
    case RegroupTypes.attest: {
      if (!member && !dealer) return ignore('not a member or dealer');
      const a = payload as AttestIn;
      if (a.attestation.peerId !== from) return fail(state, failure('INVALID_MESSAGE', 'attestation signed by another peer than its sender', [from], { phase: 'attest' }));
      if (state.attestations[from]) return ignore('duplicate');
      return advance({ ...state, attestations: { ...state.attestations, [from]: a } }, now, [], []);
    }
    case RegroupTypes.abort: {
      if (!dealer && !member) return ignore('not a participant');
      const a = payload as AbortPayload;
      return fail(state, failure('ABORTED', `participant ${from} aborted the regroup: ${a.code}`, [], { phase: state.phase, reportedBy: from, reported: a }), false);
    }
    default:
      return ignore('unknown type');
  }
}

function silentMembers(s: RegroupState): string[] {
  const p = s.params;
  switch (s.phase) {
    case 'agree':
      return participants(p).filter((x) => !s.agrees[x]);
    case 'deal':
      return ids(p.dealers).filter((x) => !s.dealings[x] || (s.role.member && !s.subShares[x]));
    case 'commit':
      return p.newCommittee.filter((m) => !s.commits[m.identifier]).map((m) => m.peerId);
    case 'sigshare':
      return p.newCommittee.filter((m) => !s.sigShares[m.identifier]).map((m) => m.peerId);
    case 'attest':
      return signersOf(p).filter((x) => !s.attestations[x]);
    default:
      return [];
  }
}

function fail(state: RegroupState, f: CeremonyFailure, announce = true): Step<RegroupState> {
  const outbox: Outgoing[] = announce && (state.role.dealer || state.role.member)
    ? [{ to: 'gossip', type: RegroupTypes.abort, payload: { code: f.code, message: f.message.slice(0, 500), culprits: f.culprits } satisfies AbortPayload }]
    : [];
  return {
    state: { ...state, phase: 'failed', failure: f, nonces: null },
    outbox,
    log: [{ level: 'warn', msg: 'regroup failed; old shares stay in use', data: { epoch: state.params.epoch, code: f.code, culprits: f.culprits, message: f.message } }],
  };
}

function merge(s: Step<RegroupState>, outbox: Outgoing[], log: LogLine[]): Step<RegroupState> {
  return { state: s.state, outbox: [...outbox, ...s.outbox], log: [...log, ...s.log] };
}

function advance(state: RegroupState, now: number, outbox: Outgoing[], log: LogLine[]): Step<RegroupState> {
  const p = state.params;
  const all = participants(p);
  const dealerIds = ids(p.dealers);
  const memberIds = ids(p.newCommittee);
  const message = testMessage(p);
  for (;;) {
    if (state.phase === 'agree') {
      if (!all.every((x) => state.agrees[x])) break;
      const differ = all.filter((x) => state.agrees[x] !== state.planHash);
      if (differ.length)
        return merge(fail(state, failure('ABORTED', 'participants computed different regroup plans (committee, dealers or threshold)', [], { phase: 'agree', differ, mine: state.planHash })), outbox, log);
      let dealings = state.dealings;
      let subShares = state.subShares;
      if (state.role.dealer) {
        let dealt: ReturnType<typeof reshareDeal>;
        try {
          dealt = reshareDeal({ share: p.oldShare!, oldKey: p.oldKey, dealers: p.dealers.map((d) => d.identifier), newCommittee: p.newCommittee, newThreshold: p.newThreshold, newEpoch: p.epoch });
        } catch (e) {
          return merge(fail(state, failureFrom(e, p.oldKey.committee, 'deal')), outbox, log);
        }
        outbox.push({ to: 'gossip', type: RegroupTypes.dealing, payload: dealt.dealing });
        dealings = { ...dealings, [p.self]: dealt.dealing };
        for (const s of dealt.subShares) {
          const to = p.newCommittee.find((m) => m.identifier === s.to)!.peerId;
          if (to === p.self) subShares = { ...subShares, [p.self]: s };
          else outbox.push({ to: 'direct', peerId: to, type: RegroupTypes.subshare, payload: s });
        }
      }
      log.push({ level: 'info', msg: 'regroup plan agreed', data: { planHash: state.planHash } });
      if (!state.role.member) {
        // A dealer that leaves the committee waits for the members' attestations.
        const t = p.timeouts;
        state = { ...state, phase: 'attest', dealings, subShares, deadline: now + t.deal + t.commit + t.sigshare + t.attest };
        continue;
      }
      state = { ...state, phase: 'deal', dealings, subShares, deadline: now + p.timeouts.deal };
      continue;
    }
    if (state.phase === 'deal') {
      if (!dealerIds.every((d) => state.dealings[d] && state.subShares[d])) break;
      let out: { key: EpochKey; share: KeyShare };
      try {
        out = reshareReceive({
          self: p.self, oldKey: p.oldKey, dealers: p.dealers.map((d) => d.identifier),
          dealings: dealerIds.map((d) => state.dealings[d]), subShares: dealerIds.map((d) => state.subShares[d]),
          newCommittee: p.newCommittee, newThreshold: p.newThreshold, newEpoch: p.epoch,
        });
      } catch (e) {
        return merge(fail(state, failureFrom(e, [...p.oldKey.committee, ...p.newCommittee], 'deal')), outbox, log);
      }
      const { nonces, commitments } = signingCommit(out.share, out.key, 1);
      outbox.push({ to: 'gossip', type: RegroupTypes.commit, payload: { commitments } });
      log.push({ level: 'info', msg: 'regroup sub-shares verified; test-signing' });
      state = { ...state, phase: 'commit', newKey: out.key, newShare: out.share, nonces, commits: { ...state.commits, [out.share.identifier]: commitments }, deadline: now + p.timeouts.commit };
      continue;
    }
    if (state.phase === 'commit') {
      if (!p.newCommittee.every((m) => state.commits[m.identifier])) break;
      let shares: string[];
      try {
        shares = signShares(state.newShare!, state.newKey!, state.nonces!, state.commits, [{ message }]);
      } catch (e) {
        return merge(fail(state, failureFrom(e, p.newCommittee, 'commit')), outbox, log);
      }
      outbox.push({ to: 'gossip', type: RegroupTypes.sigshare, payload: { shares } });
      state = { ...state, phase: 'sigshare', nonces: null, sigShares: { ...state.sigShares, [state.newShare!.identifier]: shares }, deadline: now + p.timeouts.sigshare };
      continue;
    }
    if (state.phase === 'sigshare') {
      if (!p.newCommittee.every((m) => state.sigShares[m.identifier])) break;
      let sig: string;
      try {
        sig = aggregateSignatures(state.newKey!, state.commits, [{ message }], state.sigShares)[0];
      } catch (e) {
        return merge(fail(state, failureFrom(e, p.newCommittee, 'sigshare')), outbox, log);
      }
      const key = state.newKey!;
      const dealingsHash = bytesToHex(sha256(utf8ToBytes('metanode/regroup-dealings/v1\n' + canonicalJson(dealerIds.map((d) => state.dealings[d])))));
      const record: EpochRecord = {
        version: 1, kind: 'regroup', network: p.network, epoch: p.epoch, attempt: attemptOf(p, state.planHash), previousEpoch: p.oldKey.epoch,
        outputKey: key.outputKey, internalKey: key.internalKey, vaultAddress: vaultAddress(key),
        committee: recordCommittee(p.newCommittee, p.rewardAddresses), threshold: p.newThreshold,
        transcriptHash: dealingsHash, keyHash: epochKeyHash(key), testSignature: sig,
      };
      outbox.push({ to: 'sign', record, extra: { key } });
      log.push({ level: 'info', msg: 'regroup test signature valid; attesting' });
      state = { ...state, phase: 'attest', pending: { record, hash: recordHash(record) }, deadline: now + p.timeouts.attest };
      continue;
    }
    if (state.phase === 'attest') {
      const entries = Object.entries(state.attestations);
      // Observers and leaving dealers have no record of their own: the first attestation that
      // checks out becomes the reference, and every member must have signed exactly that.
      let ref = state.pending;
      if (!ref && entries.length) {
        const [, first] = entries[0];
        const problem = checkForeignRecord(p, state.planHash, first);
        if (problem) return merge(fail(state, failure('INVALID_MESSAGE', `attested regroup record is wrong: ${problem}`, [entries[0][0]], { phase: 'attest' })), outbox, log);
        ref = { record: first.record, hash: recordHash(first.record) };
        state = { ...state, pending: ref, newKey: first.key };
        // A dealer that leaves consents to the record it checked: the old key holders' signatures.
        if (state.role.dealer) outbox.push({ to: 'sign', record: first.record, extra: { key: first.key } });
      }
      if (!ref) break;
      const differ = entries.filter(([, a]) => recordHash(a.record) !== ref!.hash || epochKeyHash(a.key) !== ref!.record.keyHash);
      if (differ.length)
        return merge(fail(state, failure('INVALID_MESSAGE', 'members signed a different epoch record', differ.map(([x]) => x), { phase: 'attest', mine: ref.record, theirs: Object.fromEntries(differ.map(([x, a]) => [x, a.record])) })), outbox, log);
      if (!memberIds.every((x) => state.attestations[x])) break;
      // Enough of the old committee must have signed too (dealers that stay are members).
      const signers = signersOf(p).filter((x) => state.attestations[x]);
      const oldIds = new Set(ids(p.oldKey.committee));
      if (signers.filter((x) => oldIds.has(x)).length < p.oldKey.threshold) break;
      const signatures = signers.map((x) => state.attestations[x].attestation);
      const key = state.newKey ?? state.attestations[memberIds[0]].key;
      log.push({ level: 'info', msg: 'regroup complete: every new member signed the record', data: { epoch: p.epoch } });
      state = { ...state, phase: 'done', result: { record: ref.record, signatures, key, share: state.role.member ? state.newShare : null } };
      continue;
    }
    break;
  }
  return { state, outbox, log };
}

/** Checks a record this node did not compute itself: the plan it expects, the same key, a valid test signature. */
function checkForeignRecord(p: RegroupParams, planHash: string, a: AttestIn): string | null {
  const r = a.record;
  if (r.kind !== 'regroup' || r.network !== p.network || r.epoch !== p.epoch || r.previousEpoch !== p.oldKey.epoch) return 'wrong kind, network or epoch';
  if (canonicalJson(r.attempt) !== canonicalJson(attemptOf(p, planHash))) return 'another attempt';
  if (r.outputKey !== p.oldKey.outputKey || r.internalKey !== p.oldKey.internalKey || r.vaultAddress !== vaultAddress(p.oldKey)) return 'the group key changed';
  if (r.threshold !== p.newThreshold || canonicalJson(r.committee) !== canonicalJson(recordCommittee(p.newCommittee, p.rewardAddresses))) return 'not the agreed committee';
  if (epochKeyHash(a.key) !== r.keyHash || a.key.epoch !== r.epoch || a.key.outputKey !== r.outputKey) return 'key material does not match the record';
  if (!r.testSignature || !verifyBip340(r.testSignature, testMessage(p), r.outputKey)) return 'test signature does not verify against the vault key';
  return null;
}
