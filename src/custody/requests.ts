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
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { PrivateKey } from '@libp2p/interface';
import type { Db, Migration } from '../store/db.js';
import type { Network } from '../chain/types.js';
import { MetanodeError } from '../util/errors.js';
import { fromWire, sameRecord, signingBytes, toWire, type TransferRequest } from './requests-schema.js';
import { validateTransferRequest, type RequestValidationContext, type RequestVerdict } from './requests-validate.js';

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
];

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
  id?: string;
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
  now?: () => number;
}

export type AppendResult = { status: 'inserted'; cursor: Cursor } | { status: 'duplicate' };

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
    };
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
    const id = input.id ?? bytesToHex(randomBytes(16));
    if (!/^[0-9a-f]{32}$/.test(id)) throw new MetanodeError('INVALID_INPUT', 'request id must be 32 lowercase hex characters');
    const epoch = this.opts.currentEpoch();
    const depositAddress = this.opts.depositAddressFor(id, epoch);
    if (depositAddress === undefined) throw new MetanodeError('INVALID_INPUT', `no vault key for epoch ${epoch} yet`);
    const pos = this.nextCursor();
    const unsigned = {
      id,
      network: this.opts.network,
      epoch,
      amountSats: input.amountSats,
      payoutAddress: input.payoutAddress,
      refundAddress: input.refundAddress,
      expiry: input.expiry,
      depositAddress,
      timestamp: pos.timestamp,
      timestampIndex: pos.timestampIndex,
      origin: signer.peerId,
    };
    const signature = bytesToHex(await signer.privateKey.sign(signingBytes(unsigned)));
    const record: TransferRequest = { ...unsigned, signature };
    await this.append(record);
    return record;
  }

  /**
   * Validates and stores a record (local or from a peer). Throws MetanodeError INVALID_INPUT
   * with detail.reason (and detail.transient) when invalid; nothing is stored then.
   */
  async append(record: TransferRequest, receivedFrom?: string): Promise<AppendResult> {
    const v = await this.validate(record);
    if (!v.ok) {
      throw new MetanodeError('INVALID_INPUT', `invalid transfer request ${record.id}: ${v.reason}`, receivedFrom ? [receivedFrom] : [], {
        reason: v.reason,
        transient: v.transient === true,
      });
    }
    const existing = this.get(record.id);
    if (existing) {
      if (sameRecord(existing, record)) return { status: 'duplicate' };
      throw new MetanodeError('INVALID_INPUT', `transfer request ${record.id} conflicts with the stored one`, receivedFrom ? [receivedFrom] : [], {
        reason: 'conflicting-id',
        transient: false,
      });
    }
    const pos = this.nextCursor();
    this.opts.db
      .prepare('INSERT INTO transfer_requests (id, record, created_ts, created_idx, local_ts, local_idx, received_from) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(record.id, JSON.stringify(toWire(record)), record.timestamp, record.timestampIndex, pos.timestamp, pos.timestampIndex, receivedFrom ?? null);
    this.last = pos;
    return { status: 'inserted', cursor: pos };
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
