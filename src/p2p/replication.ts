// Pull-gossip replication of the transfer-request store (seed 000 §5): forever, pick a random
// peer, ask it for records after our cursor on it, at most `limit`; apply them in ascending
// order; advance the cursor to the last applied one; sleep a random time in [min, max] ms.
// An invalid record is stored nowhere and the peer that served it is reported. A record this node
// refuses on its own view (origin not staked here, origin over its quota) is skipped without
// blame. While replies come back full the loop pulls again at once, so a burst at one node
// (one origin's backlog) drains in limit-sized pages instead of one page per sleep.
import { z } from 'zod';
import type { Db } from '../store/db.js';
import type { Logger } from '../util/log.js';
import { isMetanodeError } from '../util/errors.js';
import { compareCursor, cursorAfter, fromWire, transferRequestWireSchema, toWire, ZERO_CURSOR, type Cursor, type RequestStore } from '../custody/requests.js';
import type { DirectMessenger } from './direct.js';
import type { P2pMetrics } from './metrics.js';

export const PULL_KIND = 'requests.pull';
export const MAX_PULL_LIMIT = 100;

const cursorSchema = z.object({ timestamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), timestampIndex: z.number().int().nonnegative().max(1_000_000_000) }).strict();
export const pullRequestSchema = z.object({ after: cursorSchema, limit: z.number().int().min(1).max(MAX_PULL_LIMIT) }).strict();
export const pullResponseSchema = z.object({ records: z.array(z.object({ record: transferRequestWireSchema, cursor: cursorSchema }).strict()).max(MAX_PULL_LIMIT) }).strict();
export type PullRequest = z.infer<typeof pullRequestSchema>;
/** The direct kind's schemas and size limits (the handler is added where it is registered). */
export const pullDirectSpec = { request: pullRequestSchema, response: pullResponseSchema, maxRequestBytes: 512, maxResponseBytes: 4096 * MAX_PULL_LIMIT } as const;
export type PullResponse = z.infer<typeof pullResponseSchema>;

/** What a serving node answers: at most min(asked, its own cap) records after the cursor. */
export function servePull(store: RequestStore, req: PullRequest, serverLimit: number): PullResponse {
  const limit = Math.min(req.limit, serverLimit);
  return { records: store.list({ after: req.after, limit }).map((s) => ({ record: toWire(s.record), cursor: s.cursor })) };
}

export type ApplyOutcome = {
  cursor: Cursor;
  inserted: number;
  duplicates: number;
  /** Records skipped without blame (refused on this node's own view). */
  refused: number;
  /** Why the cursor stopped early: a record that cannot be judged yet. */
  stalledOn?: { id: string; reason: string };
  violation?: { reason: string; detail: string };
};

export interface ApplyOptions {
  /** Skip (rather than stop at) a record whose origin this node has not heard of yet. */
  skipUnknownOrigin?: boolean;
}

/**
 * Applies one reply. Checks the reply as a whole first (size against what we asked, cursors
 * strictly increasing and after ours); then records in ascending cursor order. The cursor moves
 * past every record that was stored, duplicate, or invalid (an invalid record will not become
 * valid); it stops before a record that cannot be judged yet (unknown epoch key).
 */
export async function applyPullReply(store: RequestStore, from: string, asked: PullRequest, reply: PullResponse, opts: ApplyOptions = {}): Promise<ApplyOutcome> {
  let cursor = asked.after;
  const none = { inserted: 0, duplicates: 0, refused: 0 };
  if (reply.records.length > asked.limit) {
    return { cursor, ...none, violation: { reason: 'replication-over-limit', detail: `${reply.records.length} records for limit ${asked.limit}` } };
  }
  const sorted = [...reply.records].sort((a, b) => compareCursor(a.cursor, b.cursor));
  for (let i = 0; i < sorted.length; i++) {
    if (!cursorAfter(sorted[i]!.cursor, i === 0 ? asked.after : sorted[i - 1]!.cursor)) {
      return { cursor, ...none, violation: { reason: 'replication-bad-cursor', detail: 'cursors not strictly increasing after the requested one' } };
    }
  }
  let inserted = 0;
  let duplicates = 0;
  let refused = 0;
  for (const item of sorted) {
    try {
      const r = await store.append(fromWire(item.record), from);
      if (r.status === 'inserted') inserted++;
      else duplicates++;
    } catch (e) {
      const reason = isMetanodeError(e) ? String(e.detail?.reason ?? e.code) : 'append-failed';
      if (isMetanodeError(e) && e.detail?.refused === true) {
        refused++;
      } else if (isMetanodeError(e, 'INVALID_INPUT') && e.detail?.transient === true) {
        if (!(reason === 'origin-unknown' && opts.skipUnknownOrigin)) return { cursor, inserted, duplicates, refused, stalledOn: { id: item.record.id, reason } };
        refused++;
      } else {
        return { cursor: item.cursor, inserted, duplicates, refused, violation: { reason: 'replication-invalid-record', detail: `record ${item.record.id}: ${reason}` } };
      }
    }
    cursor = item.cursor;
  }
  return { cursor, inserted, duplicates, refused };
}

export interface ReplicationOptions {
  db: Db;
  store: RequestStore;
  direct: DirectMessenger;
  /** Peers to pull from (admitted peers). */
  peers: () => string[];
  limit?: number;
  /** Largest reply this node serves. */
  serverLimit?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  /**
   * How long a peer's cursor may stay stopped at a record whose origin this node has not heard
   * of before that record is skipped (ms). A node that just started has not heard every staked
   * peer's ping yet; an origin nobody here ever hears of must not stop replication for good.
   */
  unknownOriginPatienceMs?: number;
  /** Pages pulled back to back from one peer while they come back full. */
  maxBurstPages?: number;
  now?: () => number;
  report: (peerId: string, reason: string, detail: string) => void;
  log: Logger;
  metrics?: P2pMetrics;
  random?: () => number;
}

export class Replicator {
  private running = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;
  private readonly stalled = new Map<string, { id: string; since: number }>();
  readonly limit: number;

  constructor(private readonly o: ReplicationOptions) {
    this.limit = o.limit ?? 10;
    const serverLimit = o.serverLimit ?? this.limit;
    o.direct.register<PullRequest, PullResponse>(PULL_KIND, { ...pullDirectSpec, handler: (_from, req) => servePull(o.store, req, serverLimit) });
  }

  cursor(peerId: string): Cursor {
    const r = this.o.db.prepare('SELECT timestamp, timestamp_index FROM p2p_replication_cursors WHERE peer_id = ?').get(peerId) as any;
    return r ? { timestamp: r.timestamp, timestampIndex: r.timestamp_index } : ZERO_CURSOR;
  }

  private setCursor(peerId: string, c: Cursor): void {
    this.o.db
      .prepare(
        `INSERT INTO p2p_replication_cursors (peer_id, timestamp, timestamp_index) VALUES (?, ?, ?)
         ON CONFLICT(peer_id) DO UPDATE SET timestamp = excluded.timestamp, timestamp_index = excluded.timestamp_index`,
      )
      .run(peerId, c.timestamp, c.timestampIndex);
  }

  /** One gossip round with one peer; never throws. Returns records inserted. */
  async pullFrom(peerId: string): Promise<number> {
    return (await this.pullPage(peerId)).inserted;
  }

  /** One page from one peer; `more` when the page was full, the cursor moved and something new came (pull again). */
  async pullPage(peerId: string): Promise<{ inserted: number; more: boolean }> {
    const asked: PullRequest = { after: this.cursor(peerId), limit: this.limit };
    const now = (this.o.now ?? Date.now)();
    let reply: PullResponse;
    try {
      reply = await this.o.direct.request<PullRequest, PullResponse>(peerId, PULL_KIND, asked, { timeoutMs: this.o.timeoutMs ?? 5000 });
    } catch (e) {
      this.o.log.debug({ peer: peerId, err: e instanceof Error ? e.message : String(e) }, 'replication pull failed');
      // A reply that fails our schema or size limit is the server's fault.
      if (isMetanodeError(e, 'INVALID_MESSAGE') && e.detail?.remoteError === undefined) this.o.report(peerId, 'replication-bad-reply', e.message);
      return { inserted: 0, more: false };
    }
    try {
      const stall = this.stalled.get(peerId);
      const skipUnknownOrigin = stall !== undefined && now - stall.since >= (this.o.unknownOriginPatienceMs ?? 60_000);
      const out = await applyPullReply(this.o.store, peerId, asked, reply, { skipUnknownOrigin });
      const moved = compareCursor(out.cursor, asked.after) > 0;
      if (moved) this.setCursor(peerId, out.cursor);
      if (out.stalledOn && !moved && stall?.id === out.stalledOn.id) {
        // still stopped at the same record: keep the first time
      } else if (out.stalledOn) this.stalled.set(peerId, { id: out.stalledOn.id, since: now });
      else this.stalled.delete(peerId);
      this.o.metrics?.replicationRecords.inc({ outcome: 'inserted' }, out.inserted);
      this.o.metrics?.replicationRecords.inc({ outcome: 'duplicate' }, out.duplicates);
      if (out.refused) this.o.metrics?.replicationRecords.inc({ outcome: 'refused' }, out.refused);
      if (out.violation) {
        this.o.metrics?.replicationRecords.inc({ outcome: 'invalid' });
        this.o.report(peerId, out.violation.reason, out.violation.detail);
      }
      // Pull on only while full pages bring new records: a page of duplicates means another
      // peer already delivered this backlog, and the turn goes to the next random peer.
      return { inserted: out.inserted, more: moved && out.inserted > 0 && !out.violation && !out.stalledOn && reply.records.length >= asked.limit };
    } catch (e) {
      this.o.log.warn({ peer: peerId, err: e instanceof Error ? e.message : String(e) }, 'replication apply failed');
      return { inserted: 0, more: false };
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const rnd = this.o.random ?? Math.random;
    const min = this.o.minDelayMs ?? 1000;
    const max = Math.max(min, this.o.maxDelayMs ?? 3000);
    while (this.running) {
      const peers = this.o.peers();
      if (peers.length > 0) {
        const peer = peers[Math.floor(rnd() * peers.length)]!;
        // Keep pulling from this peer while its pages come back full (a backlog drains at
        // network speed, not one page per sleep); bounded so other peers get their turn.
        const burst = this.o.maxBurstPages ?? 1000;
        for (let i = 0; i < burst && this.running; i++) {
          const page = await this.pullPage(peer);
          if (!page.more) break;
          await new Promise<void>((r) => setImmediate(r));
        }
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, min + Math.floor(rnd() * (max - min + 1)));
      });
    }
  }
}
