import type { ApiClient } from '../client.js';
import type { RoundJson, TimelineJson } from '../json-types.js';
import { UsageError } from '../exit-codes.js';
import { render, short, time, type View } from '../print.js';

export interface RoundsOptions {
  limit?: number;
  before?: number;
}

/** `metanode rounds`: recent custody rounds, newest first. */
export async function roundsCommand(client: ApiClient, opts: RoundsOptions = {}): Promise<RoundJson[]> {
  return client.get<RoundJson[]>('/v1/rounds', { limit: opts.limit, before: opts.before });
}

/** `metanode round <id>`: every logged step of one round. */
export async function roundCommand(client: ApiClient, id: string): Promise<TimelineJson> {
  if (!/^\d{1,15}$/.test(id)) throw new UsageError(`round id must be a whole number, got ${JSON.stringify(id)}`);
  return client.get<TimelineJson>(`/v1/rounds/${id}`);
}

export const roundsView: View<RoundJson> = {
  empty: '(no rounds yet)',
  columns: [
    { header: 'ROUND', get: (r) => r.roundId, align: 'right' },
    { header: 'STARTED', get: (r) => time(r.startedAt) },
    { header: 'STATUS', get: (r) => r.status },
    { header: 'TXID', get: (r) => r.txid },
    { header: 'SIGNERS', get: (r) => r.thresholdSet?.length },
    { header: 'REASON', get: (r) => r.reason },
    { header: 'CULPRITS', get: (r) => r.culprits.map((c) => short(c)) },
  ],
};

type Entry = TimelineJson['entries'][number];

const summaryView: View<RoundJson> = {
  fields: [
    ['round', (r) => r.roundId],
    ['status', (r) => r.status],
    ['started', (r) => time(r.startedAt)],
    ['ended', (r) => time(r.endedAt)],
    ['txid', (r) => r.txid],
    ['threshold set', (r) => r.thresholdSet],
    ['reason', (r) => r.reason],
    ['culprits', (r) => r.culprits],
  ],
};

const stepsView: View<Entry> = {
  empty: '(no steps logged)',
  columns: [
    { header: 'TIME', get: (e) => time(e.time) },
    { header: 'PHASE', get: (e) => e.phase },
    { header: 'PEER', get: (e) => short(e.peer) },
    { header: 'DECISION', get: (e) => e.decision },
    { header: 'REASON', get: (e) => e.reason },
    { header: 'CULPRITS', get: (e) => e.culprits.map((c) => short(c)) },
  ],
};

/** A round renders as its summary followed by its step table. */
export function renderTimeline(t: TimelineJson): string {
  const head = t.round ? render(t.round, { view: summaryView }) : '(no summary recorded)';
  return `${head}\n\n${render(t.entries, { view: stepsView })}`;
}
