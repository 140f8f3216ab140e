// The node's Prometheus families beyond the p2p counters and libp2p's own: build info, chain tip
// and poll age, epoch, committee, share held, stake, clock skew, peers by state, rounds by
// outcome, deposits and transfers by state, blocklist size (all computed from the node's data
// when scraped), and ceremony durations as histograms (observed by the runners). Every series an
// alert or the dashboard reads exists from the first scrape, with zero values: an absent series
// cannot be told from a broken exporter.
import type { Histogram } from 'prom-client';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/db.js';
import type { PeerView } from '../api/types.js';
import { countBy } from './views.js';
import { NODE_STATES } from '../p2p/messages/ping.js';

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
  build: { version: string; commit: string };
  /** Our chain tip (block time in unix seconds), null before the first answer. */
  chainTip(): { height: number; time: number } | null;
  /** When the chain source last answered a full poll (unix ms). */
  chainAnsweredAt(): number | undefined;
  /** Current epoch, 0 before the first key. */
  epoch(): number;
  committee(): { size: number; threshold: number; member: boolean } | null;
  /** Staked peers in the peer table (admitted by a valid ping), and those we hold a connection to. */
  stakedPeers(): { admitted: number; connected: number };
  shareHeld(): boolean;
  /** Own stake verdict and when it was reached (unix ms). */
  stake(): { valid: boolean; checkedAt: number | undefined };
  /** Our clock's offset from the peers' median, ms; null without peers. */
  clockSkewMs(): number | null;
  now(): number;
}

/** Label values that exist from the first scrape (zero until something happens). */
export const PEER_STATES = ['blocked', 'connected', ...NODE_STATES] as const;
export const ROUND_OUTCOMES = ['running', 'completed', 'aborted', 'skipped'] as const;
export const TRANSFER_STATES = ['pending', 'in-flight', 'paid', 'expired'] as const;
export const CEREMONY_OUTCOMES: Record<string, readonly string[]> = { keygen: ['adopted', 'failed'], regroup: ['adopted', 'failed'], signing: ['completed', 'aborted', 'skipped'] };

/** Ceremony durations span a fast local keygen to a slow regroup on a loaded federation. */
export const CEREMONY_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

function tally<T>(items: T[], key: (t: T) => string, add: (t: T) => number = () => 1, zeros: readonly string[] = []): Map<string, number> {
  const m = new Map<string, number>(zeros.map((z) => [z, 0]));
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
  const buildInfo = metrics.gauge('build_info', 'Always 1; the labels say which code runs', ['version', 'commit']);
  buildInfo.set({ version: src.build.version, commit: src.build.commit }, 1);
  const sec = (ms: number) => ms / 1000;
  // Single-value gauges read at scrape time; `value` returns null for "unknown" (then -1 is set,
  // so an alert can tell "never" from a number).
  const single = (name: string, help: string, value: () => number | null) => {
    const g = metrics.gauge(name, help);
    onScrape(g, name, () => g.set(value() ?? -1));
  };
  single('chain_tip_height', 'Height of our chain tip; -1 before the chain source first answered', () => src.chainTip()?.height ?? null);
  single('chain_tip_age_seconds', 'Seconds since our tip block was mined (block time); -1 before the first answer', () => {
    const t = src.chainTip();
    return t ? Math.max(0, src.now() / 1000 - t.time) : null;
  });
  single('chain_last_poll_age_seconds', 'Seconds since the chain source last answered a full poll; -1 if it never has', () => {
    const at = src.chainAnsweredAt();
    return at === undefined ? null : sec(src.now() - at);
  });
  single('epoch', 'Current epoch (vault key generation); 0 before the first keygen', () => src.epoch());
  single('committee_size', 'Members of the current committee; 0 before the first keygen', () => src.committee()?.size ?? 0);
  single('threshold', 'Signatures the current key needs (t); 0 before the first keygen', () => src.committee()?.threshold ?? 0);
  single('committee_member', '1 when this node is a member of the current committee', () => (src.committee()?.member ? 1 : 0));
  single('staked_peers', 'Staked peers admitted to the peer table (a valid ping within peerTimeoutMs)', () => src.stakedPeers().admitted);
  single('staked_peers_connected', 'Staked peers we hold a direct connection to (M-of-N: at least f+1 wanted)', () => src.stakedPeers().connected);
  single('share_held', '1 when this node holds its share of the current key', () => (src.shareHeld() ? 1 : 0));
  single('stake_valid', '1 when our own stake was last judged valid', () => (src.stake().valid ? 1 : 0));
  single('stake_check_age_seconds', 'Seconds since our own stake was last checked against the chain; -1 if never', () => {
    const at = src.stake().checkedAt;
    return at === undefined ? null : sec(src.now() - at);
  });
  const skew = metrics.gauge('clock_skew_seconds', 'Our clock minus the median of the peers\' clocks; 0 without peers (see metanode_clock_skew_known)');
  onScrape(skew, 'clock skew', () => skew.set(sec(src.clockSkewMs() ?? 0)));
  single('clock_skew_known', '1 when enough peers report their clocks to estimate our skew', () => (src.clockSkewMs() === null ? 0 : 1));

  onScrape(peers, 'peers', () => {
    for (const [state, n] of tally(src.peers(), (p) => p.state, undefined, PEER_STATES)) peers.set({ state }, n);
  });
  onScrape(rounds, 'rounds', () => {
    for (const o of ROUND_OUTCOMES) rounds.set({ outcome: o }, 0);
    for (const [outcome, n] of Object.entries(countBy(src.db, 'rounds', 'status'))) rounds.set({ outcome }, n);
  });
  onScrape(deposits, 'deposits', () => {
    for (const [state, n] of tally(src.depositStates(), (d) => d.state)) deposits.set({ state }, n);
  });
  onScrape(depositSats, 'deposit sats', () => {
    for (const [state, n] of tally(src.depositStates(), (d) => d.state, (d) => Number(d.sats))) depositSats.set({ state }, n);
  });
  onScrape(transfers, 'transfers', () => {
    for (const [state, n] of tally(src.transferStates(), (s) => s, undefined, TRANSFER_STATES)) transfers.set({ state }, n);
  });
  onScrape(blocklist, 'blocklist', () => blocklist.set(src.blocklistSize()));

  const ceremonyDuration = metrics.histogram('ceremony_duration_seconds', 'Ceremony duration from start to outcome, by kind (keygen, regroup, signing) and outcome', ['kind', 'outcome'], CEREMONY_BUCKETS);
  for (const [kind, outcomes] of Object.entries(CEREMONY_OUTCOMES)) for (const outcome of outcomes) ceremonyDuration.zero({ kind, outcome });
  return { ceremonyDuration };
}
