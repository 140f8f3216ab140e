// The custody signing round as a state machine, in the manner of tss-lib's rounds:
//   startSigningRound(cfg, deps, now)  -> { state, outbox, log }
//   stepSigningRound(state, deps, ev)  -> { state, outbox, log }
// Events are envelope-validated messages (payload still checked here against the type's schema),
// timer ticks and ping-derived peer states. No I/O happens here; see driver.ts.
//
// Phases: candidate -> proposal -> signing-set -> checksum -> ceremony -> done. Each phase ends
// when every peer it waits for has spoken, or at its deadline.
import { chooseCandidate, roundAnchor, summarize, type Candidate, type CandidateSummary } from '../../custody/candidate.js';
import { selectThresholdSet } from './threshold-set.js';
import { thresholdSetChecksum } from './checksum.js';
import { checkProposal, makeProposal } from './proposal.js';
import { checkSigningSet } from './signing-set.js';
import { seesSigningQuorum } from './cooldown.js';
import { ceremonyTick, checkFinal, handleAck, handleCommit, handleShare, retry, startAttempt } from './ceremony.js';
import { blame, bySeniority, cloneState, finish, isCulprit, isNamed, note, participant, publish, setAside, type Ctx } from './ctx.js';
import {
  MSG, SIGNING_SCHEMAS, isSigningMessageType, type AckPayload, type CandidatePayload, type ChecksumPayload, type CommitPayload, type FinalPayload,
  type ProposalPayload, type RelayPayload, type SharePayload, type SigningSetPayload,
} from './messages.js';
import { bodyDigest, slotOf, verifyPayload } from './signed.js';
import { relaySlot, sigCtx } from './relay.js';
import type { RoundConfig, RoundDeps, RoundEvent, RoundState, StepResult } from './types.js';
import { errorMessage, isMetanodeError } from '../../util/errors.js';

function emptyState(cfg: RoundConfig, now: number): RoundState {
  return {
    cfg, phase: 'candidate', outcome: 'running', startedAt: now, deadline: now + cfg.timeouts.candidateMs,
    own: null, doc: null, candidates: {}, proposals: {}, signingSets: {}, checksums: {}, commits: {}, acks: {}, sharesIn: {},
    accepted: [], pool: [], thresholdSet: [], checksum: null, attempt: null, culprits: [], setAside: [], slots: {}, equivocations: [], relayed: [],
    signingPeers: [], cooldown: false,
    result: null, abort: null, chosen: null, endReason: null,
  };
}

/**
 * An unexpected throw inside a transition (a local fault: bad key material, a builder error) must
 * not escape into the node or release half an outbox: the effects are dropped and the round
 * aborts with the error's code.
 */
function guarded(base: RoundState, deps: RoundDeps, now: number, run: (c: Ctx) => void): StepResult {
  const c: Ctx = { s: cloneState(base), deps, now, out: [], log: [] };
  try {
    run(c);
    return { state: c.s, outbox: c.out, log: c.log };
  } catch (e) {
    const f: Ctx = { s: cloneState(base), deps, now, out: [], log: [] };
    if (base.phase === 'done') {
      note(f, 'done', 'error', { reason: errorMessage(e) });
      return { state: f.s, outbox: [], log: f.log };
    }
    const code = isMetanodeError(e) ? e.code : 'ABORTED';
    finish(f, 'aborted', base.phase, `internal error: ${errorMessage(e)}`, { code, culprits: [] });
    return { state: f.s, outbox: f.out, log: f.log };
  }
}

export function startSigningRound(cfg: RoundConfig, deps: RoundDeps, now: number): StepResult {
  return guarded(emptyState(cfg, now), deps, now, (c) => startIn(c));
}

function startIn(c: Ctx): void {
  const cfg = c.s.cfg;
  const deps = c.deps;
  note(c, 'candidate', 'start', { peer: cfg.self });
  if (!cfg.participants.some((p) => p.peerId === cfg.self)) {
    finish(c, 'skipped', 'candidate', 'not in the participant table');
    return;
  }
  c.s.own = deps.buildCandidate();
  const own = c.s.own;
  const anchor = own?.anchorHeight ?? cfg.anchorHeight ?? 0;
  const payload: CandidatePayload = own
    ? { ...summarize(own), docHash: own.docHash }
    : { docHash: null, anchorHeight: anchor, feeRate: 1, transferIds: [], refunds: [] };
  note(c, 'candidate', own ? 'built' : 'none', { ...(own ? { digest: own.docHash, reason: `${own.transferIds.length} transfers` } : { reason: 'no-transfer' }) });
  if (!cfg.share) {
    finish(c, 'skipped', 'candidate', 'no key share');
    return;
  }
  c.s.candidates[cfg.self] = payload;
  publish(c, MSG.candidate, payload);
  if (!own) {
    // A node a block behind its peers may find the transfers at the anchor they share: it
    // listens to their candidates first. Otherwise others stop waiting for us.
    if ((cfg.maxAnchorHeight ?? anchor) > anchor) return void note(c, 'candidate', 'wait', { reason: `no transfer at anchor ${anchor}; can serve up to ${cfg.maxAnchorHeight}` });
    finish(c, 'skipped', 'candidate', 'no-transfer');
  }
}

export function stepSigningRound(state: RoundState, deps: RoundDeps, ev: RoundEvent): StepResult {
  return guarded(state, deps, ev.now, (c) => dispatch(c, ev));
}

function dispatch(c: Ctx, ev: RoundEvent): void {
  switch (ev.kind) {
    case 'message':
      onMessage(c, ev.from, ev.type, ev.payload);
      break;
    case 'tick':
      onTick(c);
      break;
    case 'peer-states':
      onPeerStates(c, ev.signing);
      break;
    case 'session-refused':
      if (c.s.phase !== 'done') finish(c, 'aborted', 'ceremony', `signing refused: ${ev.reason}`, { code: 'DOUBLE_SIGN', culprits: [] });
      break;
  }
}

// ---- messages ---------------------------------------------------------------------------------

function onMessage(c: Ctx, from: string, type: string, raw: unknown): void {
  if (!isSigningMessageType(type)) return;
  const parsed = SIGNING_SCHEMAS[type].safeParse(raw);
  if (!parsed.success) {
    blame(c, phaseOf(type), from, 'INVALID_MESSAGE', `malformed ${type}`);
    return;
  }
  if (from === c.s.cfg.self) return;
  const sender = participant(c, from);
  if (!sender) return void note(c, phaseOf(type), 'ignore', { peer: from, reason: 'not-a-participant' });
  if (type === MSG.final) return onFinal(c, from, parsed.data as FinalPayload);
  // A relay of a body this node already holds changes nothing: dropped before any signature is
  // checked. Relays arrive from every relayer of a disputed slot (up to n per slot), and checking
  // two signatures on each let one member's wrong checksum cost every honest node O(n^2) checks
  // a round (found by the simulator: 92 -> 317 messages per member at n = 16).
  if (type === MSG.relay && holdsRelayed(c, parsed.data as RelayPayload)) return;
  // An unsigned or wrongly signed message proves nothing and is not acted on (not blamed either:
  // only a signature makes a message evidence).
  if (!verifyPayload(sender.verifyingShare, sigCtx(c, from), type, parsed.data)) return void note(c, phaseOf(type), 'ignore', { peer: from, reason: 'bad-signature' });
  if (type === MSG.relay) return onRelay(c, from, parsed.data as RelayPayload);
  admit(c, from, type, parsed.data as Record<string, unknown>, false);
}

/** This node holds exactly the body relayed (same author, slot and body digest). */
function holdsRelayed(c: Ctx, m: RelayPayload): boolean {
  const payload = m.payload as Record<string, unknown>;
  const held = c.s.slots[`${m.peer}|${slotOf(m.type, payload)}`];
  return !!held && held.digest === bodyDigest(m.type, payload);
}

/** A peer's signed message passed on by another: as good as receiving it from its author. */
function onRelay(c: Ctx, relayer: string, m: RelayPayload): void {
  const author = m.peer;
  if (author === c.s.cfg.self) return;
  const p = participant(c, author);
  // The relay schema already checked the payload against its type's schema.
  if (!p || !verifyPayload(p.verifyingShare, sigCtx(c, author), m.type, m.payload)) {
    return void note(c, phaseOf(m.type), 'ignore', { peer: relayer, reason: `relayed ${m.type} of ${author} is not a valid signed message` });
  }
  admit(c, author, m.type, m.payload as Record<string, unknown>, true);
}

/**
 * Every signed message passes here. The first body a peer signs for a slot is kept; the same body
 * again is a duplicate; a different body is proof of equivocation.
 */
function admit(c: Ctx, from: string, type: string, payload: Record<string, unknown>, relayed: boolean): void {
  const slot = slotOf(type, payload);
  const key = `${from}|${slot}`;
  const digest = bodyDigest(type, payload);
  const prev = c.s.slots[key];
  if (prev) {
    if (prev.digest !== digest) equivocation(c, from, type, slot, prev.payload, payload);
    return;
  }
  c.s.slots[key] = { type, payload, digest };
  if (isCulprit(c, from)) return void note(c, phaseOf(type), 'ignore', { peer: from, reason: 'named-in-this-round' });
  if (relayed) note(c, phaseOf(type), 'relayed', { peer: from, digest });
  switch (type) {
    case MSG.candidate: {
      c.s.candidates[from] = payload as CandidatePayload;
      note(c, 'candidate', 'received', { peer: from, ...(c.s.candidates[from]!.docHash ? { digest: c.s.candidates[from]!.docHash! } : {}) });
      if (c.s.phase === 'candidate') maybeEndCandidate(c, false);
      return;
    }
    case MSG.proposal: {
      c.s.proposals[from] = payload as ProposalPayload;
      if (c.s.phase === 'proposal') {
        processProposal(c, from);
        maybeEndProposal(c, false);
      } else if (c.s.doc && c.s.phase !== 'candidate' && c.s.phase !== 'done') {
        processProposal(c, from, true);
      }
      return;
    }
    case MSG.signingSet: {
      c.s.signingSets[from] = payload as SigningSetPayload;
      if (c.s.phase === 'signing-set') maybeEndSigningSet(c, false);
      return;
    }
    case MSG.checksum: {
      // A sender's latest checksum is the one that leaves out the most equivocators.
      const m = payload as ChecksumPayload;
      const held = c.s.checksums[from];
      if (held && (held.excluded ?? []).length >= m.excluded.length) return;
      c.s.checksums[from] = m;
      if (c.s.phase === 'checksum') maybeEndChecksum(c, false);
      return;
    }
    case MSG.commit:
      return handleCommit(c, from, payload as CommitPayload, true);
    case MSG.ack:
      return handleAck(c, from, payload as AckPayload, true);
    case MSG.share:
      return handleShare(c, from, payload as SharePayload, true);
  }
}

/**
 * Two different signed bodies for one slot: both are kept as evidence (round log), passed on so
 * every honest node holds the proof, the author is named and blocked, and the round goes on
 * without it from wherever it stands.
 */
function equivocation(c: Ctx, peer: string, type: string, slot: string, first: Record<string, unknown>, second: Record<string, unknown>): void {
  const phase = phaseOf(type);
  if (!c.s.equivocations.some((e) => e.peer === peer)) {
    const evidence = { peer, type, slot, first, second };
    c.s.equivocations.push(evidence);
    c.out.push({ kind: 'evidence', evidence });
    note(c, phase, 'equivocation', { peer, digest: `${bodyDigest(type, first)}/${bodyDigest(type, second)}`, reason: `two different signed ${type} for ${slot}` });
    relaySlot(c, peer, slot, [first, second]);
  }
  if (isNamed(c, peer)) return;
  blame(c, phase, peer, 'EQUIVOCATION', `signed two different ${type} messages for ${slot}`);
  withoutCulprit(c, peer);
}

/** Carries on after a peer is named mid-round: whoever waited for it stops waiting. */
function withoutCulprit(c: Ctx, peer: string): void {
  c.s.accepted = c.s.accepted.filter((p) => p !== peer);
  switch (c.s.phase) {
    case 'candidate': return maybeEndCandidate(c, false);
    case 'proposal': return maybeEndProposal(c, false);
    case 'signing-set': return maybeEndSigningSet(c, false);
    case 'checksum': {
      // Without the culprit the rest may already agree (the ceremony leaves it out). If honest
      // members still differ, the threshold set came from what the culprit showed each of them
      // (e.g. its two signing sets): choose again without it.
      maybeEndChecksum(c, false);
      const differs = c.s.phase === 'checksum' && c.s.pool.some((p) => p !== c.s.cfg.self && !isCulprit(c, p) && c.s.checksums[p] && c.s.checksums[p]!.checksum !== c.s.checksum);
      if (differs && decideThresholdSet(c)) maybeEndChecksum(c, false);
      return;
    }
    case 'ceremony':
      if (c.s.attempt?.signers.includes(peer)) retry(c);
      return;
  }
}

function phaseOf(type: string): string {
  switch (type) {
    case MSG.candidate: return 'candidate';
    case MSG.proposal: return 'proposal';
    case MSG.signingSet: return 'signing-set';
    case MSG.checksum: return 'checksum';
    case MSG.relay: return 'relay';
    default: return 'ceremony';
  }
}

function onTick(c: Ctx): void {
  if (c.s.phase === 'done' || c.now < c.s.deadline) return;
  switch (c.s.phase) {
    case 'candidate': return maybeEndCandidate(c, true);
    case 'proposal': return maybeEndProposal(c, true);
    case 'signing-set': return maybeEndSigningSet(c, true);
    case 'checksum': return maybeEndChecksum(c, true);
    case 'ceremony': return ceremonyTick(c);
  }
}

function onPeerStates(c: Ctx, signing: string[]): void {
  c.s.signingPeers = [...new Set(signing)].filter((p) => p !== c.s.cfg.self).sort();
  if (c.s.cooldown || c.s.phase === 'done') return;
  const a = c.s.attempt;
  const weAreSigning = !!a && a.signers.includes(c.s.cfg.self) && a.ownCommitted;
  if (!weAreSigning && seesSigningQuorum(c.s.signingPeers, c.s.cfg.threshold)) {
    c.s.cooldown = true;
    note(c, c.s.phase, 'cooldown', { reason: `${c.s.signingPeers.length} peers already signing` });
  }
}

function onFinal(c: Ctx, from: string, m: FinalPayload): void {
  if (c.s.result) return;
  const chk = checkFinal(c.s.doc ?? c.s.own, m);
  if (!chk.ok) return void note(c, 'final', 'ignore', { peer: from, digest: m.txid, reason: chk.reason });
  c.s.result = { txid: m.txid, hex: m.tx };
  c.out.push({ kind: 'broadcast-tx', txid: m.txid, hex: m.tx, candidate: (c.s.doc ?? c.s.own)! });
  c.s.cooldown = true;
  note(c, 'final', 'accept', { peer: from, digest: m.txid });
  if (c.s.phase !== 'done' || c.s.outcome !== 'completed') {
    c.s.phase = 'done';
    c.s.outcome = 'completed';
    c.s.abort = null;
    c.s.endReason = 'signed by the threshold set';
    note(c, 'final', 'complete', { digest: m.txid, reason: 'signed by the threshold set' });
  }
}

// ---- phase endings ----------------------------------------------------------------------------

/** Peers we still expect to hear from in a phase: participants other than self and culprits. */
function others(c: Ctx): string[] {
  return c.s.cfg.participants.map((p) => p.peerId).filter((p) => p !== c.s.cfg.self && !isCulprit(c, p));
}

/**
 * Moves own candidate to the anchor at least t candidates share (roundAnchor), when that differs
 * from ours and our view can serve it; returns the candidate to choose with (null: none).
 */
function reanchor(c: Ctx, seen: CandidateSummary[]): Candidate | null {
  const own = c.s.own;
  const ownAnchor = own?.anchorHeight ?? c.s.cfg.anchorHeight ?? 0;
  const target = roundAnchor([...(own ? [own.anchorHeight] : []), ...seen.map((s) => s.anchorHeight)], c.s.cfg.threshold);
  if (target === null || target === ownAnchor) return own;
  const moved = c.deps.buildCandidate(undefined, target);
  if (!moved) {
    note(c, 'candidate', 'not-reanchored', { reason: `peers share anchor ${target}; this node has no candidate there (own anchor ${ownAnchor})` });
    return own;
  }
  note(c, 'candidate', 're-anchored', { digest: moved.docHash, reason: `anchor ${ownAnchor} -> ${target}: ${moved.transferIds.length} transfers` });
  c.s.own = moved;
  return moved;
}

function maybeEndCandidate(c: Ctx, timedOut: boolean): void {
  const waiting = others(c).filter((p) => !c.s.candidates[p]);
  if (waiting.length && !timedOut) return;
  if (waiting.length) note(c, 'candidate', 'timeout', { reason: `no candidate from ${waiting.join(',')}` });
  const seen: CandidateSummary[] = Object.entries(c.s.candidates)
    .filter(([p, m]) => p !== c.s.cfg.self && m.docHash !== null)
    .map(([, m]) => ({ ...m, docHash: m.docHash! }));
  const own = reanchor(c, seen);
  if (!own) return finish(c, 'skipped', 'candidate', 'no-transfer');
  const choice = chooseCandidate(summarize(own), seen, c.s.cfg.threshold);
  if (choice.kind === 'none') return finish(c, 'skipped', 'candidate', choice.reason);
  let doc = own;
  if (!(choice.kind === 'exact' && choice.docHash === own.docHash)) {
    const rebuilt = c.deps.buildCandidate(choice.restriction, own.anchorHeight);
    if (!rebuilt) return finish(c, 'skipped', 'candidate', 'chosen content cannot be built from our view');
    if (choice.kind === 'exact' && rebuilt.docHash !== choice.docHash) note(c, 'candidate', 'rebuild-differs', { digest: rebuilt.docHash, reason: `chosen ${choice.docHash}` });
    doc = rebuilt;
  }
  c.s.doc = doc;
  c.s.chosen = summarize(doc);
  note(c, 'candidate', 'decided', { digest: doc.docHash, reason: `${choice.kind}: ${doc.transferIds.length} transfers` });
  // Step 2: our one proposal for this round.
  const self = c.s.cfg.self;
  const proposal = makeProposal(self, doc, c.s.cfg.tssProof);
  c.s.proposals[self] = proposal;
  c.s.accepted = [self];
  publish(c, MSG.proposal, proposal);
  note(c, 'proposal', 'sent', { peer: self, digest: doc.docHash });
  c.s.phase = 'proposal';
  c.s.deadline = c.now + c.s.cfg.timeouts.proposalMs;
  for (const p of Object.keys(c.s.proposals)) if (p !== self) processProposal(c, p);
  maybeEndProposal(c, false);
}

/**
 * Checks a peer's proposal against our document. In the proposal phase an accepted one joins our
 * signing set; after our signing set went out (`late`) it can no longer join, but a bad binding or
 * tss_proof in it is still signed evidence of a fault and is named: on a loaded host a copier's
 * proposal can miss the proposal deadline, and being late must not let it go unnamed.
 */
function processProposal(c: Ctx, from: string, late = false): void {
  if (isCulprit(c, from) || c.s.accepted.includes(from)) return;
  const m = c.s.proposals[from]!;
  const verdict = checkProposal(participant(c, from)!, m, c.s.doc!, c.deps.verifyTssProof);
  if (verdict.result === 'reject') {
    blame(c, 'proposal', from, verdict.reason === 'invalid-tss-proof' ? 'INVALID_TSS_PROOF' : 'PROTOCOL_VIOLATION', verdict.reason);
  } else if (verdict.result === 'ignore' || late) {
    note(c, 'proposal', 'ignore', { peer: from, digest: m.h0, reason: verdict.result === 'ignore' ? verdict.reason : 'late' });
  } else {
    c.s.accepted.push(from);
    note(c, 'proposal', 'accept', { peer: from, digest: m.h0 });
  }
}

function maybeEndProposal(c: Ctx, timedOut: boolean): void {
  // Peers that announced no candidate will not propose.
  const waiting = others(c).filter((p) => !c.s.proposals[p] && c.s.candidates[p]?.docHash !== null);
  if (waiting.length && !timedOut) return;
  if (waiting.length) note(c, 'proposal', 'timeout', { reason: `no proposal from ${waiting.join(',')}` });
  c.s.accepted = bySeniority(c, c.s.accepted.filter((p) => !isCulprit(c, p)));
  const mine: SigningSetPayload = { members: c.s.accepted };
  c.s.signingSets[c.s.cfg.self] = mine;
  publish(c, MSG.signingSet, mine);
  note(c, 'signing-set', 'sent', { peer: c.s.cfg.self, reason: c.s.accepted.join(',') });
  c.s.phase = 'signing-set';
  c.s.deadline = c.now + c.s.cfg.timeouts.signingSetMs;
  maybeEndSigningSet(c, false);
}

function maybeEndSigningSet(c: Ctx, timedOut: boolean): void {
  const waiting = c.s.accepted.filter((p) => p !== c.s.cfg.self && !isCulprit(c, p) && !c.s.signingSets[p]);
  if (waiting.length && !timedOut) return;
  if (waiting.length) note(c, 'signing-set', 'timeout', { reason: `no signing set from ${waiting.join(',')}` });
  if (!decideThresholdSet(c)) return;
  c.s.phase = 'checksum';
  c.s.deadline = c.now + c.s.cfg.timeouts.checksumMs;
  maybeEndChecksum(c, false);
}

/**
 * Step 4 from the signing sets held now, leaving out every peer named so far, and step 5's
 * checksum of the result (sent again whenever a newly named peer changes what is left out).
 * Returns false when the round ended here.
 */
function decideThresholdSet(c: Ctx): boolean {
  // A set is malformed only if it names a peer outside the epoch's committee (public, the same on
  // every node). Naming a member this node does not count as online right now is no fault: who
  // is online is each node's own view (a ping that came late here, a member this node left out
  // for its recent silence), and blaming the set's sender for it would let one slow or selective
  // member make honest nodes block each other. Such a member is simply not in this node's group.
  const committee = new Set(c.s.cfg.key.committee.map((m) => m.peerId));
  const valid: Record<string, string[]> = {};
  for (const [from, m] of Object.entries(c.s.signingSets)) {
    if (isCulprit(c, from)) continue;
    const v = checkSigningSet(from, m, committee, c.s.cfg.threshold);
    if (v.result === 'accept') valid[from] = m.members;
    else if (v.result === 'reject') blame(c, 'signing-set', from, 'INVALID_MESSAGE', v.reason);
    else note(c, 'signing-set', 'ignore', { peer: from, reason: v.reason });
  }
  const proofs: Record<string, string> = {};
  for (const [p, m] of Object.entries(c.s.proposals)) proofs[p] = m.tssProof;
  const r = selectThresholdSet({
    signingSets: valid,
    threshold: c.s.cfg.threshold,
    seniority: c.s.cfg.participants.map((p) => p.peerId).filter((p) => !isCulprit(c, p)),
    proofs,
  });
  if (!r) {
    finish(c, 'aborted', 'signing-set', 'no mutually visible group of t peers', { code: 'ABORTED', culprits: c.s.culprits.map((x) => x.peer) });
    return false;
  }
  for (const p of r.pruned) note(c, 'signing-set', 'prune', { peer: p, reason: 'non-unique tss_proof', culprits: [p] });
  c.s.pool = r.ordered;
  c.s.thresholdSet = r.thresholdSet;
  note(c, 'signing-set', 'decided', { reason: `threshold set ${r.thresholdSet.join(',')}; pool ${r.ordered.join(',')}` });
  if (!r.ordered.includes(c.s.cfg.self)) {
    finish(c, 'skipped', 'signing-set', 'not in the threshold set or its pool');
    return false;
  }
  const checksum = thresholdSetChecksum(c.s.cfg.roundId, c.s.doc!.docHash, r.thresholdSet);
  const excluded = c.s.culprits.map((x) => x.peer).sort();
  const prev = c.s.checksums[c.s.cfg.self];
  c.s.checksum = checksum;
  if (prev && prev.checksum === checksum && prev.excluded.join(',') === excluded.join(',')) return true;
  const mine: ChecksumPayload = { checksum, excluded };
  c.s.checksums[c.s.cfg.self] = mine;
  publish(c, MSG.checksum, mine);
  note(c, 'checksum', 'sent', { peer: c.s.cfg.self, digest: checksum, ...(excluded.length ? { reason: `without ${excluded.join(',')}` } : {}) });
  return true;
}

/**
 * Step 5. Every pool member's latest checksum must equal ours. A differing one is not blamed: it
 * may come from an honest peer that was shown another message by an equivocator. We pass on the
 * signing sets we decided from (so an equivocation behind the split surfaces on every node) and
 * wait; at the deadline the members that still differ are set aside (not named, not blocked) and
 * the silent ones named for their silence, and the ceremony runs with whoever is left.
 */
/** The f + 1 most senior pool members not named here, f = floor((n - 1) / 3) for the epoch's committee of n. */
function setRelayers(c: Ctx): string[] {
  const f = Math.floor((c.s.cfg.key.committee.length - 1) / 3);
  return c.s.pool.filter((p) => !isCulprit(c, p)).slice(0, f + 1);
}

function maybeEndChecksum(c: Ctx, timedOut: boolean): void {
  if (c.s.phase !== 'checksum') return;
  const self = c.s.cfg.self;
  const live = c.s.pool.filter((p) => p !== self && !isCulprit(c, p));
  const waiting = live.filter((p) => !c.s.checksums[p]);
  const differing = live.filter((p) => c.s.checksums[p] && c.s.checksums[p]!.checksum !== c.s.checksum);
  if (differing.length) {
    // A differing checksum is relayed by everyone who sees it (one message each: whoever holds
    // another body of it then holds the proof of equivocation). The signing sets behind ours are
    // relayed by the f + 1 most senior members of the pool only (at least one honest when at
    // most f are not; each sees the difference once it is relayed): one member claiming a
    // different checksum every round would otherwise make every honest node relay every set,
    // n^2 messages to each member.
    for (const p of differing) relaySlot(c, p, slotOf(MSG.checksum, c.s.checksums[p] as Record<string, unknown>));
    if (setRelayers(c).includes(self)) {
      for (const [p, m] of Object.entries(c.s.signingSets)) if (p !== self && !isCulprit(c, p)) relaySlot(c, p, slotOf(MSG.signingSet, m as Record<string, unknown>));
    }
  }
  if ((waiting.length || differing.length) && !timedOut) return;
  for (const p of differing) setAside(c, 'checksum', p, 'CHECKSUM_MISMATCH', 'threshold-set checksum differs from ours; no evidence against it');
  // Silent pool members are left out of the ceremony (named, so no attempt waits on them).
  for (const p of waiting) blame(c, 'checksum', p, 'TIMEOUT', 'no threshold-set checksum');
  const agreeing = c.s.pool.filter((p) => !isCulprit(c, p));
  if (agreeing.length < c.s.cfg.threshold) {
    return finish(c, 'aborted', 'checksum', `threshold-set checksums agree among ${agreeing.length} of ${c.s.cfg.threshold} needed (differing: ${differing.join(',')})`, {
      code: 'CHECKSUM_MISMATCH', culprits: c.s.culprits.map((x) => x.peer),
    });
  }
  note(c, 'checksum', 'agreed', { digest: c.s.checksum!, reason: `${agreeing.length} matching` });
  startAttempt(c);
}
