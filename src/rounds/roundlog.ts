// Round log: every step of every custody round on this node is one row (who said what, when,
// what was decided and why), plus one summary row per round. Operators read it with
// `metanode round <id>`; an aborted round names its culprits here.
import type { Db, Migration } from '../store/db.js';
import { MetanodeError } from '../util/errors.js';

export const roundLogMigrations: Migration[] = [
  {
    id: 'roundlog-001-tables',
    sql: `
      CREATE TABLE round_log (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        round_id  INTEGER NOT NULL,
        phase     TEXT NOT NULL,
        time      INTEGER NOT NULL,
        peer      TEXT,
        digest    TEXT,
        decision  TEXT NOT NULL,
        reason    TEXT,
        culprits  TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX round_log_round ON round_log(round_id, seq);
      CREATE TABLE rounds (
        round_id      INTEGER PRIMARY KEY,
        status        TEXT NOT NULL CHECK (status IN ('running','completed','aborted','skipped')),
        txid          TEXT,
        threshold_set TEXT,
        reason        TEXT,
        culprits      TEXT NOT NULL DEFAULT '[]',
        started_at    INTEGER NOT NULL,
        ended_at      INTEGER
      );
    `,
  },
  // Proof of equivocation kept with the round: the two different messages (bodies with their
  // author's signature) one peer signed for the same slot of the round.
  {
    id: 'roundlog-002-evidence',
    sql: `
      CREATE TABLE round_evidence (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        round_id  INTEGER NOT NULL,
        time      INTEGER NOT NULL,
        peer      TEXT NOT NULL,
        type      TEXT NOT NULL,
        slot      TEXT NOT NULL,
        first     TEXT NOT NULL,
        second    TEXT NOT NULL,
        UNIQUE (round_id, peer, slot)
      );
    `,
  },
];

export interface EvidenceRow {
  roundId: number;
  time: number;
  peer: string;
  type: string;
  slot: string;
  first: Record<string, unknown>;
  second: Record<string, unknown>;
}

/** Keeps the evidence (idempotent per round, peer and slot). */
export function appendEvidence(db: Db, e: EvidenceRow): void {
  db.prepare('INSERT INTO round_evidence (round_id, time, peer, type, slot, first, second) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
    e.roundId, e.time, e.peer, e.type, e.slot, JSON.stringify(e.first), JSON.stringify(e.second),
  );
}

export function readEvidence(db: Db, roundId: number): EvidenceRow[] {
  const rows = db.prepare('SELECT * FROM round_evidence WHERE round_id = ? ORDER BY seq').all(roundId) as Array<{
    round_id: number; time: number; peer: string; type: string; slot: string; first: string; second: string;
  }>;
  return rows.map((r) => ({ roundId: r.round_id, time: r.time, peer: r.peer, type: r.type, slot: r.slot, first: JSON.parse(r.first), second: JSON.parse(r.second) }));
}

/** One step of a round as seen by this node. `peer` is whom the step concerns (sender or self). */
export interface LogEntry {
  roundId: number;
  phase: string;
  time: number; // unix ms
  peer?: string;
  digest?: string;
  decision: string; // e.g. accept, ignore, reject, sent, decided, abort, complete
  reason?: string;
  culprits?: string[];
}

export type RoundStatus = 'running' | 'completed' | 'aborted' | 'skipped';

export interface RoundSummary {
  roundId: number;
  status: RoundStatus;
  txid?: string;
  thresholdSet?: string[];
  reason?: string;
  culprits: string[];
  startedAt: number;
  endedAt?: number;
}

export interface Timeline {
  round?: RoundSummary;
  entries: Array<Required<Pick<LogEntry, 'roundId' | 'phase' | 'time' | 'decision'>> & { seq: number; peer?: string; digest?: string; reason?: string; culprits: string[] }>;
}

/** Rounds are aligned to the configured boundary so every node agrees on the round id. */
export function roundIdFor(nowMs: number, boundaryMs: number): number {
  if (!Number.isFinite(nowMs) || nowMs < 0) throw new MetanodeError('INVALID_INPUT', `now must be a non-negative time, got ${nowMs}`);
  if (!Number.isSafeInteger(boundaryMs) || boundaryMs <= 0) throw new MetanodeError('INVALID_INPUT', `round boundary must be a positive integer of ms, got ${boundaryMs}`);
  return Math.floor(nowMs / boundaryMs);
}

/** Start time (unix ms) of a round. */
export function roundStartMs(roundId: number, boundaryMs: number): number {
  return roundId * boundaryMs;
}

export function appendLog(db: Db, e: LogEntry): void {
  db.prepare(
    'INSERT INTO round_log (round_id, phase, time, peer, digest, decision, reason, culprits) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(e.roundId, e.phase, e.time, e.peer ?? null, e.digest ?? null, e.decision, e.reason ?? null, JSON.stringify(e.culprits ?? []));
}

export function appendLogs(db: Db, entries: LogEntry[]): void {
  if (entries.length === 0) return;
  db.transaction(() => entries.forEach((e) => appendLog(db, e)))();
}

/** Creates the summary row when a round starts (idempotent: a restart keeps the first start time). */
export function startRound(db: Db, roundId: number, startedAt: number): void {
  db.prepare("INSERT INTO rounds (round_id, status, started_at) VALUES (?, 'running', ?) ON CONFLICT(round_id) DO NOTHING").run(roundId, startedAt);
}

export function finishRound(
  db: Db,
  roundId: number,
  end: { status: Exclude<RoundStatus, 'running'>; endedAt: number; txid?: string; thresholdSet?: string[]; reason?: string; culprits?: string[] },
): void {
  db.prepare(
    `INSERT INTO rounds (round_id, status, txid, threshold_set, reason, culprits, started_at, ended_at)
     VALUES (@roundId, @status, @txid, @ts, @reason, @culprits, @endedAt, @endedAt)
     ON CONFLICT(round_id) DO UPDATE SET status = excluded.status, txid = excluded.txid,
       threshold_set = excluded.threshold_set, reason = excluded.reason, culprits = excluded.culprits,
       ended_at = excluded.ended_at`,
  ).run({
    roundId,
    status: end.status,
    txid: end.txid ?? null,
    ts: end.thresholdSet ? JSON.stringify(end.thresholdSet) : null,
    reason: end.reason ?? null,
    culprits: JSON.stringify(end.culprits ?? []),
    endedAt: end.endedAt,
  });
}

interface RoundRow {
  round_id: number;
  status: RoundStatus;
  txid: string | null;
  threshold_set: string | null;
  reason: string | null;
  culprits: string;
  started_at: number;
  ended_at: number | null;
}

function toSummary(r: RoundRow): RoundSummary {
  return {
    roundId: r.round_id,
    status: r.status,
    ...(r.txid ? { txid: r.txid } : {}),
    ...(r.threshold_set ? { thresholdSet: JSON.parse(r.threshold_set) as string[] } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    culprits: JSON.parse(r.culprits) as string[],
    startedAt: r.started_at,
    ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
  };
}

export function getRound(db: Db, roundId: number): RoundSummary | undefined {
  const r = db.prepare('SELECT * FROM rounds WHERE round_id = ?').get(roundId) as RoundRow | undefined;
  return r ? toSummary(r) : undefined;
}

/** Most recent rounds first. */
export function listRounds(db: Db, limit = 50): RoundSummary[] {
  const rows = db.prepare('SELECT * FROM rounds ORDER BY round_id DESC LIMIT ?').all(Math.max(1, Math.min(1000, limit))) as RoundRow[];
  return rows.map(toSummary);
}

/** The whole timeline of one round, in the order the steps were recorded. */
export function readTimeline(db: Db, roundId: number): Timeline {
  const rows = db.prepare('SELECT * FROM round_log WHERE round_id = ? ORDER BY seq').all(roundId) as Array<{
    seq: number;
    round_id: number;
    phase: string;
    time: number;
    peer: string | null;
    digest: string | null;
    decision: string;
    reason: string | null;
    culprits: string;
  }>;
  const round = getRound(db, roundId);
  return {
    ...(round ? { round } : {}),
    entries: rows.map((r) => ({
      seq: r.seq,
      roundId: r.round_id,
      phase: r.phase,
      time: r.time,
      ...(r.peer !== null ? { peer: r.peer } : {}),
      ...(r.digest !== null ? { digest: r.digest } : {}),
      decision: r.decision,
      ...(r.reason !== null ? { reason: r.reason } : {}),
      culprits: JSON.parse(r.culprits) as string[],
    })),
  };
}
