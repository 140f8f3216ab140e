// One keygen attempt (seed 004 "Keygen"; FROST DKG with an echo check), as plain state and a
// pure transition. Phases:
//   round1  every member's DkgRound1Package over gossip
//   echo    every member publishes what it saw (transcript hash + per-member package hashes);
//           any difference aborts, naming the members whose package differs between views
//   round2  shares over direct streams, one recipient each; dkgFinish validates them
//   attest  every member signs the epoch record with its identity key; the key is adopted only
//           when every member signed the same record
// Messages are buffered whatever phase they arrive in: peers move at different speeds.
// The DkgSession is the one in-memory handle (the secret polynomial); it is never persisted, so
// a restart mid-ceremony simply drops the attempt and the previous key stays in force.
import { dkgStart, dkgRound2, dkgFinish, dkgTranscriptHash, type DkgSession, type DkgRound1Package, type DkgRound2Package } from '../../crypto/dkg.js';
import { vaultAddress } from '../../crypto/taproot.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../../crypto/types.js';
import type { Network } from '../../chain/types.js';
import { epochKeyHash, recordCommittee, recordHash, type Attestation, type EpochRecord } from '../../epochs/record.js';
import { keygenPlanHash, makeAttempt } from '../../epochs/attempt.js';
import { KeygenTypes, packageHash, type AbortPayload, type AttestMessage, type EchoPayload } from './messages.js';
import { failure, failureFrom, type CeremonyFailure, type LogLine, type Outgoing, type Step } from './ceremony.js';

export type KeygenPhase = 'round1' | 'echo' | 'round2' | 'attest' | 'done' | 'failed';

export interface KeygenTimeouts {
  round1: number;
  echo: number;
  round2: number;
  attest: number;
}
export const DEFAULT_KEYGEN_TIMEOUTS: KeygenTimeouts = { round1: 20_000, echo: 15_000, round2: 20_000, attest: 15_000 };

export interface KeygenParams {
  network: Network;
  /** The epoch this keygen creates. */
  epoch: number;
  /** Envelope round of this attempt (all its messages carry it). */
  round: number;
  /** Start of the attempt's slot (ms, round x round length): part of the attempt identity in the record. */
  startedAt: number;
  /** The epoch in force now (null before the first key). */
  previousEpoch: number | null;
  self: string;
  /** In seniority order. */
  committee: CommitteeMember[];
  threshold: number;
  /** Reward address per member, from its verified stake; goes into the record (and the plan hash). */
  rewardAddresses?: Record<string, string>;
  timeouts: KeygenTimeouts;
}

export interface KeygenResult {
  key: EpochKey;
  share: KeyShare;
  record: EpochRecord;
  signatures: Attestation[];
}

export interface KeygenState {
  params: KeygenParams;
  phase: KeygenPhase;
  deadline: number;
  session: DkgSession;
  round1: Record<string, DkgRound1Package>;
  echoes: Record<string, EchoPayload>;
  myEcho: EchoPayload | null;
  round2: Record<string, DkgRound2Package>;
  /** After dkgFinish: the candidate key (not adopted until every member attests). */
  pending: { key: EpochKey; share: KeyShare; record: EpochRecord; hash: string } | null;
  attestations: Record<string, AttestMessage>;
  result: KeygenResult | null;
  failure: CeremonyFailure | null;
}

export type KeygenEvent =
  | { kind: 'tick'; now: number }
  /** An already schema-validated message; `from` is the authenticated sender's peer id. */
  | { kind: 'message'; now: number; from: string; type: string; payload: unknown };

/** Starts an attempt: fresh DKG polynomial, own round-1 package published. */
export function keygenInit(params: KeygenParams, now: number): Step<KeygenState> {
  const self = params.committee.find((m) => m.peerId === params.self);
  const base = { params, deadline: now + params.timeouts.round1, round1: {}, echoes: {}, myEcho: null, round2: {}, pending: null, attestations: {}, result: null };
  let started: ReturnType<typeof dkgStart>;
  try {
    if (!self) throw failure('INVALID_INPUT', 'this node is not in the keygen committee', [], {});
    started = dkgStart({ self: self.identifier, committee: params.committee, threshold: params.threshold, epoch: params.epoch, network: params.network });
  } catch (e) {
    const f = isFailure(e) ? e : failureFrom(e, params.committee, 'init');
    return { state: { ...base, phase: 'failed', session: undefined as unknown as DkgSession, failure: f }, outbox: [], log: [{ level: 'warn', msg: 'keygen could not start', data: { ...f } }] };
  }
  const state: KeygenState = { ...base, phase: 'round1', session: started.session, round1: { [params.self]: started.round1 }, failure: null };
  return advance(state, now, [{ to: 'gossip', type: KeygenTypes.round1, payload: started.round1 }], [
    { level: 'info', msg: 'keygen started', data: { epoch: params.epoch, round: params.round, n: params.committee.length, t: params.threshold } },
  ]);
}

function isFailure(e: unknown): e is CeremonyFailure {
  return typeof e === 'object' && e !== null && 'code' in e && 'culprits' in e && !(e instanceof Error);
}

export function keygenStep(state: KeygenState, ev: KeygenEvent): Step<KeygenState> {
  if (state.phase === 'done' || state.phase === 'failed') return { state, outbox: [], log: [] };
  const { params } = state;
  if (ev.kind === 'tick') {
    if (ev.now < state.deadline) return { state, outbox: [], log: [] };
    const silent = silentMembers(state);
    return fail(state, failure('TIMEOUT', `keygen ${state.phase} phase timed out`, silent, { phase: state.phase, silent }));
  }
  const { from, type, payload, now } = ev;
  if (!params.committee.some((m) => m.peerId === from)) return ignore(state, `message from ${from}, not a committee member`);
  switch (type) {
    case KeygenTypes.round1: {
      const pkg = payload as DkgRound1Package;
      const prev = state.round1[from];
      if (prev) {
        if (packageHash(prev) === packageHash(pkg)) return { state, outbox: [], log: [] };
        // Two different signed round-1 packages from one member: equivocation.
        return fail(state, failure('INVALID_MESSAGE', 'member sent two different round-1 packages', [from], { phase: 'round1', first: prev, second: pkg }));
      }
      return advance({ ...state, round1: { ...state.round1, [from]: pkg } }, now, [], []);
    }
    case KeygenTypes.echo:
      if (state.echoes[from]) return ignore(state, `duplicate echo from ${from}`);
      return advance({ ...state, echoes: { ...state.echoes, [from]: payload as EchoPayload } }, now, [], []);
    case KeygenTypes.round2: {
      const p = payload as DkgRound2Package;
      const fromId = params.committee.find((m) => m.peerId === from)!.identifier;
      const me = params.committee.find((m) => m.peerId === params.self)!.identifier;
      // The stream authenticates the sender: a package claiming another sender, or for another recipient, is the sender's fault.
      if (p.from !== fromId || p.to !== me) return fail(state, failure('INVALID_MESSAGE', 'round-2 package with wrong sender or recipient', [from], { phase: 'round2' }));
      if (state.round2[from]) return ignore(state, `duplicate round-2 package from ${from}`);
      return advance({ ...state, round2: { ...state.round2, [from]: p } }, now, [], []);
    }
    case KeygenTypes.attest: {
      const a = payload as AttestMessage;
      if (a.attestation.peerId !== from) return fail(state, failure('INVALID_MESSAGE', 'attestation signed by another peer than its sender', [from], { phase: 'attest' }));
      if (state.attestations[from]) return ignore(state, `duplicate attestation from ${from}`);
      return advance({ ...state, attestations: { ...state.attestations, [from]: a } }, now, [], []);
    }
    case KeygenTypes.abort: {
      const a = payload as AbortPayload;
      // A peer's report cannot be checked here: it ends the attempt but names nobody.
      return fail(state, failure('ABORTED', `member ${from} aborted the keygen: ${a.code}`, [], { phase: state.phase, reportedBy: from, reported: a }), false);
    }
    default:
      return ignore(state, `unknown keygen message type ${type}`);
  }
}

function ignore(state: KeygenState, reason: string): Step<KeygenState> {
  return { state, outbox: [], log: [{ level: 'debug', msg: 'keygen message ignored', data: { reason } }] };
}

function fail(state: KeygenState, f: CeremonyFailure, announce = true): Step<KeygenState> {
  const outbox: Outgoing[] = announce ? [{ to: 'gossip', type: KeygenTypes.abort, payload: { code: f.code, message: f.message.slice(0, 500), culprits: f.culprits } satisfies AbortPayload }] : [];
  return { state: { ...state, phase: 'failed', failure: f }, outbox, log: [{ level: 'warn', msg: 'keygen failed', data: { epoch: state.params.epoch, code: f.code, culprits: f.culprits, message: f.message } }] };
}

function silentMembers(state: KeygenState): string[] {
  const ids = state.params.committee.map((m) => m.peerId);
  switch (state.phase) {
    case 'round1':
      return ids.filter((p) => !state.round1[p]);
    case 'echo':
      return ids.filter((p) => p !== state.params.self && !state.echoes[p]);
    case 'round2':
      return ids.filter((p) => p !== state.params.self && !state.round2[p]);
    case 'attest':
      return ids.filter((p) => !state.attestations[p]);
    default:
      return [];
  }
}

/** Moves through every phase whose inputs are complete. */
function advance(state: KeygenState, now: number, outbox: Outgoing[], log: LogLine[]): Step<KeygenState> {
  const { params } = state;
  const members = params.committee.map((m) => m.peerId);
  const others = members.filter((p) => p !== params.self);
  for (;;) {
    if (state.phase === 'round1') {
      if (!members.every((p) => state.round1[p])) break;
      const list = members.map((p) => state.round1[p]);
      let transcriptHash: string;
      try {
        transcriptHash = dkgTranscriptHash(list);
      } catch (e) {
        return merge(fail(state, failureFrom(e, params.committee, 'round1')), outbox, log);
      }
      const packages: Record<string, string> = {};
      for (const p of members) packages[p] = packageHash(state.round1[p]);
      const myEcho: EchoPayload = { transcriptHash, packages };
      outbox.push({ to: 'gossip', type: KeygenTypes.echo, payload: myEcho });
      log.push({ level: 'info', msg: 'keygen round 1 complete', data: { transcriptHash } });
      state = { ...state, phase: 'echo', myEcho, deadline: now + params.timeouts.echo };
      continue;
    }
    if (state.phase === 'echo') {
      if (!others.every((p) => state.echoes[p])) break;
      const mine = state.myEcho!;
      const differing = new Set<string>();
      const liars: string[] = [];
      for (const p of others) {
        const e = state.echoes[p];
        let any = false;
        for (const m of members) {
          if (e.packages[m] !== mine.packages[m]) {
            differing.add(m);
            any = true;
          }
        }
        if (Object.keys(e.packages).some((k) => !members.includes(k))) liars.push(p);
        // Same packages but another transcript hash: the echoer itself is inconsistent.
        if (!any && e.transcriptHash !== mine.transcriptHash) liars.push(p);
      }
      if (differing.size || liars.length) {
        const culprits = [...differing, ...liars];
        return merge(
          fail(state, failure('INVALID_MESSAGE', 'echo mismatch: members saw different round-1 packages', culprits, { phase: 'echo', mine, echoes: state.echoes })),
          outbox,
          log,
        );
      }
      let shares: DkgRound2Package[];
      try {
        shares = dkgRound2(state.session, members.map((p) => state.round1[p]));
      } catch (e) {
        return merge(fail(state, failureFrom(e, params.committee, 'round2')), outbox, log);
      }
      for (const s of shares) {
        const to = params.committee.find((m) => m.identifier === s.to)!.peerId;
        outbox.push({ to: 'direct', peerId: to, type: KeygenTypes.round2, payload: s });
      }
      log.push({ level: 'info', msg: 'keygen echo agreed; shares sent' });
      state = { ...state, phase: 'round2', deadline: now + params.timeouts.round2 };
      continue;
    }
    if (state.phase === 'round2') {
      if (!others.every((p) => state.round2[p])) break;
      let out: { key: EpochKey; share: KeyShare };
      try {
        out = dkgFinish(state.session, members.map((p) => state.round1[p]), others.map((p) => state.round2[p]));
      } catch (e) {
        return merge(fail(state, failureFrom(e, params.committee, 'round2')), outbox, log);
      }
      const record: EpochRecord = {
        version: 1,
        kind: 'keygen',
        network: params.network,
        epoch: params.epoch,
        attempt: makeAttempt({ kind: 'keygen', network: params.network, epoch: params.epoch, startedAt: params.startedAt, planHash: keygenPlanHash(params) }),
        previousEpoch: params.previousEpoch,
        outputKey: out.key.outputKey,
        internalKey: out.key.internalKey,
        vaultAddress: vaultAddress(out.key),
        committee: recordCommittee(params.committee, params.rewardAddresses),
        threshold: params.threshold,
        transcriptHash: state.myEcho!.transcriptHash,
        keyHash: epochKeyHash(out.key),
        testSignature: null,
      };
      outbox.push({ to: 'sign', record });
      log.push({ level: 'info', msg: 'keygen key computed; attesting', data: { outputKey: record.outputKey, vaultAddress: record.vaultAddress } });
      state = { ...state, phase: 'attest', pending: { ...out, record, hash: recordHash(record) }, deadline: now + params.timeouts.attest };
      continue;
    }
    if (state.phase === 'attest') {
      if (!state.pending) break;
      const differ = Object.entries(state.attestations).filter(([, a]) => recordHash(a.record) !== state.pending!.hash);
      // Another attempt id = another plan (committee, threshold or a member's reward address as
      // that member's stake view gave it): a disagreement between views, nobody's proven fault.
      const otherPlan = differ.filter(([, a]) => a.record.attempt.id !== state.pending!.record.attempt.id).map(([p]) => p);
      if (otherPlan.length) {
        return merge(fail(state, failure('ABORTED', 'members computed different keygen plans (committee, threshold or reward addresses)', [], { phase: 'attest', differ: otherPlan })), outbox, log);
      }
      if (differ.length) {
        return merge(
          fail(state, failure('INVALID_MESSAGE', 'members signed a different epoch record', differ.map(([p]) => p), { phase: 'attest', mine: state.pending.record, theirs: Object.fromEntries(differ) })),
          outbox,
          log,
        );
      }
      if (!members.every((p) => state.attestations[p])) break;
      const { key, share, record } = state.pending;
      const signatures = members.map((p) => state.attestations[p].attestation);
      log.push({ level: 'info', msg: 'keygen complete: every member signed the record', data: { epoch: params.epoch, outputKey: record.outputKey } });
      state = { ...state, phase: 'done', result: { key, share, record, signatures } };
      continue;
    }
    break;
  }
  return { state, outbox, log };
}

function merge(s: Step<KeygenState>, outbox: Outgoing[], log: LogLine[]): Step<KeygenState> {
  return { state: s.state, outbox: [...outbox, ...s.outbox], log: [...log, ...s.log] };
}
