import type { ApiClient } from '../client.js';
import type { RoundJson, TimelineJson } from '../json-types.js';
import { UsageError } from '../exit-codes.js';
import { render, short, time, type View } from '../print.js';

export interface RoundsOptions {
  limit?: number;
  before?: number;
}

/** One row of `metanode rounds --json`. outcome: running | completed | aborted | skipped. */
export interface RoundRow {
  id: number;
  /** Unix ms. */
  startedAt: number;
  outcome: string;
  thresholdSet: string[];
  txid: string | null;
  culprits: string[];
}

/** One step of a round in `metanode round <id> --json`. */
export interface RoundEvent {
  /** Unix ms. */
  at: number;
  phase: string;
  /** Whom the step concerns (the sender, or this node), null when nobody in particular. */
  peer: string | null;
  decision: string;
  reason: string | null;
}

/** `metanode round <id> --json`: id, outcome and events, plus the round's summary facts. */
export interface RoundDetail {
  id: number;
  outcome: string;
  events: RoundEvent[];
  startedAt: number | null;
  endedAt: number | null;
  thresholdSet: string[];
  txid: string | null;
  /** The round's culprits and every peer a step named as one. */
  culprits: string[];
  reason: string | null;
}

export function toRoundRow(r: RoundJson): RoundRow {
  return { id: r.roundId, startedAt: r.startedAt, outcome: r.status, thresholdSet: r.thresholdSet ?? [], txid: r.txid ?? null, culprits: r.culprits };
}

export function toRoundDetail(id: number, t: TimelineJson): RoundDetail {
  const r = t.round;
  const events = t.entries.map((e) => ({ at: e.time, phase: e.phase, peer: e.peer ?? null, decision: e.decision, reason: e.reason ?? null }));
  const culprits = [...new Set([...(r?.culprits ?? []), ...t.entries.flatMap((e) => e.culprits), ...t.entries.filter((e) => e.decision === 'culprit' && e.peer).map((e) => e.peer!)])];
  return {
    id,
    // A round with logged steps but no summary row is still under way (or the node stopped in it).
    outcome: r?.status ?? 'running',
    events,
    startedAt: r?.startedAt ?? events[0]?.at ?? null,
    endedAt: r?.endedAt ?? null,
    thresholdSet: r?.thresholdSet ?? [],
    txid: r?.txid ?? null,
    culprits,
    reason: r?.reason ?? null,
  };
}

/** `metanode rounds`: recent custody rounds, newest first. */
export async function roundsCommand(client: ApiClient, opts: RoundsOptions = {}): Promise<RoundRow[]> {
  return (await client.get<RoundJson[]>('/v1/rounds', { limit: opts.limit, before: opts.before })).map(toRoundRow);
}

/** `metanode round <id>`: the whole timeline of one round on this node. */
export async function roundCommand(client: ApiClient, id: string): Promise<RoundDetail> {
  if (!/^\d{1,15}$/.test(id)) throw new UsageError(`round id must be a whole number, got ${JSON.stringify(id)}`);
  return toRoundDetail(Number(id), await client.get<TimelineJson>(`/v1/rounds/${id}`));
}

export const roundsView: View<RoundRow> = {
  empty: '(no rounds yet)',
  columns: [
    { header: 'ROUND', get: (r) => r.id, align: 'right' },
    { header: 'STARTED', get: (r) => time(r.startedAt) },
    { header: 'OUTCOME', get: (r) => r.outcome },
    { header: 'TXID', get: (r) => r.txid },
    { header: 'SIGNERS', get: (r) => r.thresholdSet.length || null, align: 'right' },
    { header: 'CULPRITS', get: (r) => r.culprits.map((c) => short(c)) },
  ],
};

const summaryView: View<RoundDetail> = {
  fields: [
    ['round', (r) => r.id],
    ['outcome', (r) => r.outcome],
    ['started', (r) => time(r.startedAt)],
    ['ended', (r) => time(r.endedAt)],
    ['txid', (r) => r.txid],
    ['threshold set', (r) => r.thresholdSet],
    ['culprits', (r) => r.culprits],
    ['reason', (r) => r.reason],
  ],
};

const eventsView: View<RoundEvent> = {
  empty: '(no steps logged)',
  columns: [
    { header: 'TIME', get: (e) => new Date(e.at).toISOString() },
    { header: 'PHASE', get: (e) => e.phase },
    { header: 'PEER', get: (e) => short(e.peer) },
    { header: 'DECISION', get: (e) => e.decision },
    { header: 'REASON', get: (e) => e.reason },
  ],
};

/** A round renders as its summary followed by its step table. */
export function renderRound(r: RoundDetail): string {
  return `${render(r, { view: summaryView })}\n\n${render(r.events, { view: eventsView })}`;
}
