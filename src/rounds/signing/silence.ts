// Members that stayed silent in a recent round's ceremony, and how that shapes the next rounds.
//
// Silence is no proof (a crash, a partition, an overloaded host all look alike), and it is one
// node's own observation: nobody else can check it. So it must never cost a member more than a
// preference. A silent member is left out of this node's next rounds for a while, so the
// federation does not keep picking a dead member first; but only while enough other members are
// online to sign without it. It is not blocklisted: its connection, pings and gossip go on, and
// when the honest members online are exactly t, a silent one is taken back at once. (Blocking
// it, as this node did before, let one slow round of one honest member stop every signing round
// of a federation down to t honest members for blocklist.silentMinutes.)
import type { Participant } from './types.js';

export class SilenceMemory {
  private readonly until = new Map<string, number>();

  /** Remembers `peer` as silent until `untilMs` (a later silence extends it). */
  note(peer: string, untilMs: number): void {
    this.until.set(peer, Math.max(untilMs, this.until.get(peer) ?? 0));
  }

  /** Peers still remembered as silent at `nowMs`; forgets the rest. */
  active(nowMs: number): Set<string> {
    for (const [p, u] of this.until) if (u <= nowMs) this.until.delete(p);
    return new Set(this.until.keys());
  }
}

/**
 * The round's participants without the recently silent ones, if at least `threshold` remain
 * (self is never left out); otherwise all of them, in the same order. `left` says who was left
 * out, for the round log.
 */
export function preferResponsive(participants: Participant[], silent: Set<string>, threshold: number, self: string): { participants: Participant[]; left: string[] } {
  const kept = participants.filter((p) => p.peerId === self || !silent.has(p.peerId));
  if (kept.length === participants.length || kept.length < threshold) return { participants, left: [] };
  return { participants: kept, left: participants.filter((p) => !kept.includes(p)).map((p) => p.peerId) };
}
