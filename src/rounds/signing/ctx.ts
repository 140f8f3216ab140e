// The working context of one transition: a private copy of the state plus the effects and log
// rows it produces. Phase files mutate the copy; round.ts hands it back as the new state.
import type { LogEntry } from '../roundlog.js';
import type { ErrorCode } from '../../util/errors.js';
import type { OutMsg, Participant, RoundDeps, RoundState } from './types.js';

export interface Ctx {
  s: RoundState;
  deps: RoundDeps;
  now: number;
  out: OutMsg[];
  log: LogEntry[];
}

export function cloneState(st: RoundState): RoundState {
  const perAttempt = <T>(m: Record<number, Record<string, T>>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { ...v }])) as Record<number, Record<string, T>>;
  return {
    ...st,
    candidates: { ...st.candidates },
    proposals: { ...st.proposals },
    signingSets: { ...st.signingSets },
    checksums: { ...st.checksums },
    commits: perAttempt(st.commits),
    acks: perAttempt(st.acks),
    sharesIn: perAttempt(st.sharesIn),
    accepted: [...st.accepted],
    pool: [...st.pool],
    thresholdSet: [...st.thresholdSet],
    culprits: [...st.culprits],
    setAside: [...st.setAside],
    slots: { ...st.slots },
    equivocations: [...st.equivocations],
    relayed: [...st.relayed],
    signingPeers: [...st.signingPeers],
    attempt: st.attempt ? { ...st.attempt, shares: { ...st.attempt.shares }, lists: st.attempt.lists ? { ...st.attempt.lists } : null } : null,
  };
}

export function note(
  c: Ctx,
  phase: string,
  decision: string,
  extra: { peer?: string; digest?: string; reason?: string; culprits?: string[] } = {},
): void {
  c.log.push({ roundId: c.s.cfg.roundId, phase, time: c.now, decision, ...extra });
}

export function participant(c: Ctx, peerId: string): Participant | undefined {
  return c.s.cfg.participants.find((p) => p.peerId === peerId);
}

/** Named or set aside: takes no further part in this round. */
export function isCulprit(c: Ctx, peerId: string): boolean {
  return c.s.culprits.some((x) => x.peer === peerId) || c.s.setAside.some((x) => x.peer === peerId);
}

/** Named on evidence (or for its own silence). */
export function isNamed(c: Ctx, peerId: string): boolean {
  return c.s.culprits.some((x) => x.peer === peerId);
}

/**
 * Names a culprit once, asks the driver to block it, and logs why. Never names self. Callers name
 * a peer only on what every honest node checks the same way: a message the peer signed (a second,
 * different one for a slot; an invalid share against a list every signer acked) or its silence.
 */
export function blame(c: Ctx, phase: string, peer: string, code: ErrorCode, reason: string): void {
  if (peer === c.s.cfg.self || isNamed(c, peer)) return;
  c.s.culprits.push({ peer, code, reason });
  c.s.setAside = c.s.setAside.filter((x) => x.peer !== peer);
  c.out.push({ kind: 'block', peer, code, reason });
  note(c, phase, 'culprit', { peer, reason: `${code}: ${reason}`, culprits: [peer] });
}

/** Leaves a peer out of the rest of this round without naming or blocking it (no proof). */
export function setAside(c: Ctx, phase: string, peer: string, code: ErrorCode, reason: string): void {
  if (peer === c.s.cfg.self || isCulprit(c, peer)) return;
  c.s.setAside.push({ peer, code, reason });
  note(c, phase, 'set-aside', { peer, reason: `${code}: ${reason}` });
}

export function publish(c: Ctx, type: string, payload: unknown): void {
  c.out.push({ kind: 'publish', type, payload });
}

export function finish(c: Ctx, outcome: 'completed' | 'aborted' | 'skipped', phase: string, reason: string, abort?: { code: ErrorCode; culprits: string[] }): void {
  c.s.phase = 'done';
  c.s.outcome = outcome;
  c.s.endReason = reason;
  if (abort) c.s.abort = { code: abort.code, reason, culprits: abort.culprits };
  note(c, phase, outcome === 'completed' ? 'complete' : outcome === 'aborted' ? 'abort' : 'skip', {
    reason,
    ...(abort ? { culprits: abort.culprits } : {}),
    ...(c.s.result ? { digest: c.s.result.txid } : {}),
  });
}

export function bySeniority(c: Ctx, peers: Iterable<string>): string[] {
  const rank = new Map(c.s.cfg.participants.map((p, i) => [p.peerId, i]));
  return [...new Set(peers)].filter((p) => rank.has(p)).sort((a, b) => rank.get(a)! - rank.get(b)!);
}
