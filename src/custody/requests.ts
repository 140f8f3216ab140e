// SQLite store of transfer requests.
//
// Ordering for replication: every store gives each record it accepts a local position
// (timestamp, timestampIndex) = (its own append time in ms, index within that ms), strictly
// increasing. A peer's replication cursor is a position in *that peer's* store. For records this
// node created, the local position is (within a millisecond) the record's signed creation
// (timestamp, timestampIndex). Ordering by the local position instead of the creation time means a record
// that reaches a node late (created earlier elsewhere) is still served to everyone whose cursor
// on that node already passed its creation time: nothing is skipped, which is what makes pull
// gossip converge in a sparse network.
import { bytesToHex } from '@noble/hashes/utils.js';
import type { PrivateKey } from '@libp2p/interface';
import type { Db, Migration } from '../store/db.js';
import type { Network } from '../chain/types.js';
import { MetanodeError } from '../util/errors.js';
import { fromWire, requestIdOf, signingBytes, toWire, type TransferRequest } from './requests-schema.js';
import { validateTransferRequest, type OriginStanding, type RequestValidationContext, type RequestVerdict } from './requests-validate.js';

export * from './requests-schema.js';
export * from './requests-validate.js';

export const requestMigrations: Migration[] = [
  {
    id: 'custody-001-transfer-requests',
    sql: `
      CREATE TABLE transfer_requests (
        id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        created_ts INTEGER NOT NULL,
        created_idx INTEGER NOT NULL,
        local_ts INTEGER NOT NULL,
        local_idx INTEGER NOT NULL,
        received_from TEXT,
        UNIQUE (local_ts, local_idx)
      );
      CREATE INDEX transfer_requests_created ON transfer_requests (created_ts, created_idx);
    `,
  },
  {
    // Content-hash ids (64 hex) replace random 32-hex ids: records stored under the old format
    // can no longer be validated or served, so they move to the archive (kept for the record).
    // origin/epoch/expiry columns let quotas, expiry and epoch retirement run in SQL.
    id: 'custody-002-request-quotas-archive',
    sql: `
      CREATE TABLE transfer_requests_archive (
        id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('expired', 'paid', 'old-format')),
        archived_at INTEGER NOT NULL
      );
      INSERT INTO transfer_requests_archive (id, record, reason, archived_at)
        SELECT id, record, 'old-format', 0 FROM transfer_requests WHERE length(id) <> 64;
      DELETE FROM transfer_requests WHERE length(id) <> 64;
      ALTER TABLE transfer_requests ADD COLUMN origin TEXT NOT NULL DEFAULT '';
      ALTER TABLE transfer_requests ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE transfer_requests ADD COLUMN expiry INTEGER NOT NULL DEFAULT 0;
      UPDATE transfer_requests SET origin = json_extract(record, '$.origin'), epoch = json_extract(record, '$.epoch'), expiry = json_extract(record, '$.expiry');
      CREATE INDEX transfer_requests_origin ON transfer_requests (origin, created_ts);
      CREATE INDEX transfer_requests_expiry ON transfer_requests (expiry);
      CREATE INDEX transfer_requests_origin_expiry ON transfer_requests (origin, expiry);
    `,
  },
];

/** Per-origin limits (config section \`requests\`). */
export interface RequestQuotas {
  /** Unexpired requests in the store per origin (checked when this node creates one). */
  maxOpenPerOrigin: number;
  /** Requests per origin created within any hour, by their signed timestamps (checked on every record). */
  maxPerHourPerOrigin: number;
}

export const DEFAULT_QUOTAS: RequestQuotas = { maxOpenPerOrigin: 1000, maxPerHourPerOrigin: 600 };

export interface Cursor {
  timestamp: number;
  timestampIndex: number;
}

export const ZERO_CURSOR: Cursor = { timestamp: 0, timestampIndex: 0 };

export function cursorAfter(a: Cursor, b: Cursor): boolean {
  return a.timestamp > b.timestamp || (a.timestamp === b.timestamp && a.timestampIndex > b.timestampIndex);
}

export function compareCursor(a: Cursor, b: Cursor): number {
  return a.timestamp - b.timestamp || a.timestampIndex - b.timestampIndex;
}

export interface StoredRequest {
  record: TransferRequest;
  /** Position in this store (the replication cursor value). */
  cursor: Cursor;
}

export interface TransferRequestInput {
  amountSats: bigint;
  payoutAddress: string;
  refundAddress: string;
  expiry: number;
}

export interface RequestStoreOptions {
  db: Db;
  network: Network;
  depositAddressFor: (requestId: string, epoch: number) => string | undefined;
  /** Epoch of the current vault key (new requests get deposit addresses under it). */
  currentEpoch: () => number;
  /** This node's identity, to create and sign requests. */
  signer?: { peerId: string; privateKey: PrivateKey };
  dustSats?: bigint;
  maxFutureMs?: number;
  maxLifetimeSeconds?: number;
  /** Whether an origin is staked here (the staked peer table); absent = anyone (format tests). */
  originStanding?: (origin: string) => OriginStanding;
  quotas?: RequestQuotas;
  /** How long after expiry a record that never arrived here is still taken, ms (see archive). */
  retainExpiredMs?: number;
  now?: () => number;
  /**
   * Called with each record once it is stored (created here or taken from a peer), after the
   * insert: a node watches its deposit address at once instead of on its next store walk.
   */
  onStored?: (record: TransferRequest) => void;
}

export type AppendResult = { status: 'inserted'; cursor: Cursor } | { status: 'duplicate' };

const HOUR_MS = 3_600_000;
/** Rows read per page when a caller walks the whole store. */
export const STORE_PAGE = 1000;

export class RequestStore {
  private readonly now: () => number;
  private last: Cursor;

  constructor(private readonly opts: RequestStoreOptions) {
    this.now = opts.now ?? Date.now;
    const row = opts.db.prepare('SELECT local_ts, local_idx FROM transfer_requests ORDER BY local_ts DESC, local_idx DESC LIMIT 1').get() as any;
    this.last = row ? { timestamp: row.local_ts, timestampIndex: row.local_idx } : ZERO_CURSOR;
  }

  validationContext(): RequestValidationContext {
    return {
      network: this.opts.network,
      now: this.now(),
      depositAddressFor: this.opts.depositAddressFor,
      dustSats: this.opts.dustSats ?? 546n,
      maxFutureMs: this.opts.maxFutureMs ?? 60_000,
      maxLifetimeSeconds: this.opts.maxLifetimeSeconds ?? 30 * 86400,
      ...(this.opts.originStanding ? { originStanding: this.opts.originStanding } : {}),
    };
  }

  get quotas(): RequestQuotas {
    return this.opts.quotas ?? DEFAULT_QUOTAS;
  }

  /** Records of `origin` created in the hour up to and including `ts` (signed timestamps). */
  private createdInHour(origin: string, ts: number): number {
    return (this.opts.db.prepare('SELECT COUNT(*) AS n FROM transfer_requests WHERE origin = ? AND created_ts > ? AND created_ts <= ?').get(origin, ts - HOUR_MS, ts) as any).n;
  }

  /** Unexpired records of `origin` in the store (paid ones leave it, see archive). */
  openCount(origin: string, nowMs = this.now()): number {
    return (this.opts.db.prepare('SELECT COUNT(*) AS n FROM transfer_requests WHERE origin = ? AND expiry > ?').get(origin, Math.floor(nowMs / 1000)) as any).n;
  }

  private quotaError(quota: 'open-requests' | 'requests-per-hour', origin: string, limit: number, culprits: string[] = []): MetanodeError {
    const what = quota === 'open-requests' ? `${limit} open requests` : `${limit} requests per hour`;
    return new MetanodeError('QUOTA_EXCEEDED', `origin ${origin} is at its quota of ${what} (requests.${quota === 'open-requests' ? 'maxOpenPerOrigin' : 'maxPerHourPerOrigin'})`, culprits, {
      quota,
      limit,
      reason: `quota-${quota}`,
      refused: true,
    });
  }

  validate(r: TransferRequest): Promise<RequestVerdict> {
    return validateTransferRequest(r, this.validationContext());
  }

  /** Next strictly increasing local position. */
  private nextCursor(): Cursor {
    const t = Math.max(this.now(), this.last.timestamp);
    const c = t === this.last.timestamp ? { timestamp: t, timestampIndex: this.last.timestampIndex + 1 } : { timestamp: t, timestampIndex: 0 };
    return c;
  }

  /** Builds, signs and appends a new request originating at this node. */
  async create(input: TransferRequestInput): Promise<TransferRequest> {
    const signer = this.opts.signer;
    if (!signer) throw new MetanodeError('INVALID_INPUT', 'this store has no signing identity');
    const q = this.quotas;
    if (this.openCount(signer.peerId) >= q.maxOpenPerOrigin) throw this.quotaError('open-requests', signer.peerId, q.maxOpenPerOrigin);
    const epoch = this.opts.currentEpoch();
    const pos = this.nextCursor();
    if (this.createdInHour(signer.peerId, pos.timestamp) >= q.maxPerHourPerOrigin) throw this.quotaError('requests-per-hour', signer.peerId, q.maxPerHourPerOrigin);
    const content = {
      network: this.opts.network,
      epoch,
      amountSats: input.amountSats,
      payoutAddress: input.payoutAddress,
      refundAddress: input.refundAddress,
      expiry: input.expiry,
      timestamp: pos.timestamp,
      timestampIndex: pos.timestampIndex,
      origin: signer.peerId,
    };
    const id = requestIdOf(content);
    const depositAddress = this.opts.depositAddressFor(id, epoch);
    if (depositAddress === undefined) throw new MetanodeError('INVALID_INPUT', `no vault key for epoch ${epoch} yet`);
    const unsigned = { id, ...content, depositAddress };
    const signature = bytesToHex(await signer.privateKey.sign(signingBytes(unsigned)));
    const record: TransferRequest = { ...unsigned, signature };
    await this.append(record);
    return record;
  }

  /**
   * Validates and stores a record (local or from a peer). Throws MetanodeError INVALID_INPUT
   * with detail.reason (and detail.transient / detail.refused) when it is not taken, or
   * QUOTA_EXCEEDED (detail.refused) when its origin is over its hourly quota; nothing is stored
   * then. A record already held (stored or archived) is a duplicate: since the id is the hash of
   * the content, the same id means the same request, never a conflict.
   */
  async append(record: TransferRequest, receivedFrom?: string): Promise<AppendResult> {
    const culprits = receivedFrom ? [receivedFrom] : [];
    if (this.has(record.id) && record.id === requestIdOf(record)) return { status: 'duplicate' };
    const v = await this.validate(record);
    if (!v.ok) {
      throw new MetanodeError('INVALID_INPUT', `invalid transfer request ${record.id}: ${v.reason}`, culprits, {
        reason: v.reason,
        transient: v.transient === true,
        refused: v.refused === true,
      });
    }
    // Long expired and never seen here: its deposit window is over everywhere; not taken.
    if (record.expiry * 1000 + this.retainExpiredMs <= this.now()) {
      throw new MetanodeError('INVALID_INPUT', `transfer request ${record.id} expired more than the retention period ago`, culprits, { reason: 'expired-long-ago', transient: false, refused: true });
    }
    // Another delivery of the same record may have been stored while this one was validated
    // (validation awaits); from here to the insert nothing awaits.
    if (this.has(record.id)) return { status: 'duplicate' };
    const q = this.quotas;
    if (this.createdInHour(record.origin, record.timestamp) >= q.maxPerHourPerOrigin) throw this.quotaError('requests-per-hour', record.origin, q.maxPerHourPerOrigin, culprits);
    const pos = this.nextCursor();
    this.opts.db
      .prepare(
        'INSERT INTO transfer_requests (id, record, created_ts, created_idx, local_ts, local_idx, received_from, origin, epoch, expiry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(record.id, JSON.stringify(toWire(record)), record.timestamp, record.timestampIndex, pos.timestamp, pos.timestampIndex, receivedFrom ?? null, record.origin, record.epoch, record.expiry);
    this.last = pos;
    this.opts.onStored?.(record);
    return { status: 'inserted', cursor: pos };
  }

  get retainExpiredMs(): number {
    return this.opts.retainExpiredMs ?? 24 * HOUR_MS;
  }

  /** Stored or archived. */
  has(id: string): boolean {
    return (
      this.opts.db.prepare('SELECT 1 FROM transfer_requests WHERE id = ?').get(id) !== undefined ||
      this.opts.db.prepare('SELECT 1 FROM transfer_requests_archive WHERE id = ?').get(id) !== undefined
    );
  }

  /** An archived record (paid, or expired and never funded). */
  archived(id: string): { record: TransferRequest; reason: string } | undefined {
    const row = this.opts.db.prepare('SELECT record, reason FROM transfer_requests_archive WHERE id = ?').get(id) as any;
    return row ? { record: fromWire(JSON.parse(row.record)), reason: row.reason } : undefined;
  }

  /**
   * Ids of records expired before `beforeSec` (unix seconds), oldest expiry first, at most
   * `limit`: the candidates for archiving (the caller keeps those with funds still at their address).
   */
  expiredBefore(beforeSec: number, limit: number): string[] {
    return (this.opts.db.prepare('SELECT id FROM transfer_requests WHERE expiry < ? ORDER BY expiry, id LIMIT ?').all(beforeSec, limit) as any[]).map((r) => r.id);
  }

  /**
   * Moves records out of the store into the archive, in one transaction: they are no longer
   * served to peers, watched or counted against quotas, and a re-delivery is a duplicate.
   */
  archive(items: { id: string; reason: 'expired' | 'paid' }[]): number {
    const move = this.opts.db.prepare(
      `INSERT OR IGNORE INTO transfer_requests_archive (id, record, reason, archived_at) SELECT id, record, @reason, @at FROM transfer_requests WHERE id = @id`,
    );
    const del = this.opts.db.prepare('DELETE FROM transfer_requests WHERE id = ?');
    const at = this.now();
    let n = 0;
    this.opts.db.transaction(() => {
      for (const { id, reason } of items) {
        move.run({ id, reason, at });
        n += del.run(id).changes;
      }
    })();
    return n;
  }

  /** Unexpired records per epoch (the requests that can still receive a deposit). */
  openByEpoch(nowMs = this.now()): Map<number, number> {
    const rows = this.opts.db.prepare('SELECT epoch, COUNT(*) AS n FROM transfer_requests WHERE expiry > ? GROUP BY epoch').all(Math.floor(nowMs / 1000)) as any[];
    return new Map(rows.map((r) => [r.epoch, r.n]));
  }

  /** Every stored record, newest (store order) first, a page at a time; a caller stops when it has enough. */
  *newestFirst(): Generator<StoredRequest> {
    let before: Cursor = { timestamp: Number.MAX_SAFE_INTEGER, timestampIndex: 0 };
    for (;;) {
      const rows = this.opts.db
        .prepare(
          `SELECT record, local_ts, local_idx FROM transfer_requests
           WHERE local_ts < @ts OR (local_ts = @ts AND local_idx < @idx)
           ORDER BY local_ts DESC, local_idx DESC LIMIT @limit`,
        )
        .all({ ts: before.timestamp, idx: before.timestampIndex, limit: STORE_PAGE }) as any[];
      for (const r of rows) yield { record: fromWire(JSON.parse(r.record)), cursor: { timestamp: r.local_ts, timestampIndex: r.local_idx } };
      if (rows.length < STORE_PAGE) return;
      const last = rows[rows.length - 1];
      before = { timestamp: last.local_ts, timestampIndex: last.local_idx };
    }
  }

  /** Every stored record in store order, read a page at a time (no cap, bounded memory per page). */
  *all(after: Cursor = ZERO_CURSOR): Generator<StoredRequest> {
    let cursor = after;
    for (;;) {
      const page = this.list({ after: cursor, limit: STORE_PAGE });
      yield* page;
      if (page.length < STORE_PAGE) return;
      cursor = page[page.length - 1]!.cursor;
    }
  }

  get(id: string): TransferRequest | undefined {
    const row = this.opts.db.prepare('SELECT record FROM transfer_requests WHERE id = ?').get(id) as any;
    return row ? fromWire(JSON.parse(row.record)) : undefined;
  }

  /** Records strictly after `after` in this store's order, ascending, at most `limit`. */
  list(opts: { after?: Cursor; limit?: number } = {}): StoredRequest[] {
    const after = opts.after ?? ZERO_CURSOR;
    const limit = Math.max(0, Math.min(opts.limit ?? 10, 10_000));
    const rows = this.opts.db
      .prepare(
        `SELECT record, local_ts, local_idx FROM transfer_requests
         WHERE local_ts > @ts OR (local_ts = @ts AND local_idx > @idx)
         ORDER BY local_ts, local_idx LIMIT @limit`,
      )
      .all({ ts: after.timestamp, idx: after.timestampIndex, limit }) as any[];
    return rows.map((r) => ({ record: fromWire(JSON.parse(r.record)), cursor: { timestamp: r.local_ts, timestampIndex: r.local_idx } }));
  }

  /** Records created (origin timestamp) before `ms`, by creation order: the set a round may use. */
  olderThan(ms: number): TransferRequest[] {
    const rows = this.opts.db
      .prepare('SELECT record FROM transfer_requests WHERE created_ts < ? ORDER BY created_ts, created_idx, id')
      .all(ms) as any[];
    return rows.map((r) => fromWire(JSON.parse(r.record)));
  }

  count(): number {
    return (this.opts.db.prepare('SELECT COUNT(*) AS n FROM transfer_requests').get() as any).n;
  }
}
