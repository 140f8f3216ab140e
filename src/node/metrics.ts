// The node's Prometheus families beyond the p2p counters and libp2p's own: peers by state, rounds
// by outcome, deposits and transfers by state, blocklist size (all computed from the node's data
// when scraped), and ceremony durations as histograms (observed by the runners).
import type { Histogram } from 'prom-client';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/db.js';
import type { PeerView } from '../api/types.js';
import { countBy } from './views.js';

export interface NodeMetrics {
  /** Seconds from a ceremony's start to its outcome; kind keygen | regroup | signing. */
  ceremonyDuration: Histogram<'kind' | 'outcome'>;
}

export interface NodeMetricSources {
  db: Db;
  peers(): PeerView[];
  /** State of every deposit, e.g. confirmed, vault-spent. */
  depositStates(): Array<{ state: string; sats: bigint }>;
  /** State of every transfer request, e.g. pending, paid, expired. */
  transferStates(): string[];
  blocklistSize(): number;
}

/** Ceremony durations span a fast local keygen to a slow regroup on a loaded federation. */
export const CEREMONY_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

function tally<T>(items: T[], key: (t: T) => string, add: (t: T) => number = () => 1): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + add(t));
  return m;
}

export function registerNodeMetrics(metrics: Metrics, src: NodeMetricSources, onError: (what: string, e: unknown) => void = () => {}): NodeMetrics {
  // A failing source must not fail the whole scrape: its family is left empty and the error logged.
  const safely = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      onError(what, e);
    }
  };
  const peers = metrics.gauge('peers', 'Known peers by state (blocked, connected, or the activity an admitted peer announces)', ['state']);
  const rounds = metrics.gauge('rounds', 'Custody rounds in the round log, by outcome', ['outcome']);
  const deposits = metrics.gauge('deposits', 'Deposits seen at watched addresses, by state', ['state']);
  const depositSats = metrics.gauge('deposit_sats', 'Sum of deposit values (sats), by state', ['state']);
  const transfers = metrics.gauge('transfers', 'Transfer requests by state', ['state']);
  const blocklist = metrics.gauge('blocklist_size', 'Peers on the blocklist now');

  // prom-client calls collect() on every scrape; a function per family keeps them independent.
  const onScrape = (g: { reset(): void }, what: string, fill: () => void) => {
    (g as unknown as { collect?: () => void }).collect = () => {
      g.reset();
      safely(what, fill);
    };
  };
  onScrape(peers, 'peers', () => {
    for (const [state, n] of tally(src.peers(), (p) => p.state)) peers.set({ state }, n);
  });
  onScrape(rounds, 'rounds', () => {
    for (const [outcome, n] of Object.entries(countBy(src.db, 'rounds', 'status'))) rounds.set({ outcome }, n);
  });
  onScrape(deposits, 'deposits', () => {
    for (const [state, n] of tally(src.depositStates(), (d) => d.state)) deposits.set({ state }, n);
  });
  onScrape(depositSats, 'deposit sats', () => {
    for (const [state, n] of tally(src.depositStates(), (d) => d.state, (d) => Number(d.sats))) depositSats.set({ state }, n);
  });
  onScrape(transfers, 'transfers', () => {
    for (const [state, n] of tally(src.transferStates(), (s) => s)) transfers.set({ state }, n);
  });
  onScrape(blocklist, 'blocklist', () => blocklist.set(src.blocklistSize()));

  return {
    ceremonyDuration: metrics.histogram('ceremony_duration_seconds', 'Ceremony duration from start to outcome, by kind (keygen, regroup, signing) and outcome', ['kind', 'outcome'], CEREMONY_BUCKETS),
  };
}
