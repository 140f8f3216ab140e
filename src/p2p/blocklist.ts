// Peers refused for a while after an invalid ping or a protocol violation. Persisted so a restart
// does not readmit them. An entry expires by itself (`until`); expired entries are ignored.
import type { Db } from '../store/db.js';

export interface BlockEntry {
  peerId: string;
  reason: string;
  detail: string;
  since: number;
  until: number;
}

export class Blocklist {
  private readonly cache = new Map<string, BlockEntry>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    for (const r of db.prepare('SELECT peer_id, reason, detail, since, until FROM p2p_blocklist').all() as any[]) {
      this.cache.set(r.peer_id, { peerId: r.peer_id, reason: r.reason, detail: r.detail, since: r.since, until: r.until });
    }
  }

  /** Blocks (or extends the block of) a peer for `hours`. Returns the entry. */
  block(peerId: string, reason: string, detail: string, hours: number): BlockEntry {
    const since = this.now();
    const until = since + Math.round(hours * 3600_000);
    const prev = this.get(peerId);
    const entry: BlockEntry = { peerId, reason, detail: detail.slice(0, 1000), since: prev?.since ?? since, until: Math.max(until, prev?.until ?? 0) };
    this.db
      .prepare(
        `INSERT INTO p2p_blocklist (peer_id, reason, detail, since, until) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(peer_id) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, since = excluded.since, until = excluded.until`,
      )
      .run(entry.peerId, entry.reason, entry.detail, entry.since, entry.until);
    this.cache.set(peerId, entry);
    return entry;
  }

  unblock(peerId: string): void {
    this.db.prepare('DELETE FROM p2p_blocklist WHERE peer_id = ?').run(peerId);
    this.cache.delete(peerId);
  }

  /** The active entry, or undefined if the peer is not (or no longer) blocked. */
  get(peerId: string): BlockEntry | undefined {
    const e = this.cache.get(peerId);
    if (!e) return undefined;
    if (e.until <= this.now()) return undefined;
    return e;
  }

  isBlocked(peerId: string): boolean {
    return this.get(peerId) !== undefined;
  }

  list(): BlockEntry[] {
    const now = this.now();
    return [...this.cache.values()].filter((e) => e.until > now).sort((a, b) => a.since - b.since);
  }
}
