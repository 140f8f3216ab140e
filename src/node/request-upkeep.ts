// The node's upkeep of the transfer-request store against the deposit watcher, run on every
// chain poll. No read here stops at a fixed number of rows:
// - the watch set is exactly the stored (open) requests' deposit addresses plus the vault
//   addresses of the epochs not retired: a new record is watched as it is stored (watchRecord,
//   called by the store), and the store is walked from a cursor, a page at a time, so nothing is
//   missed; archived ones and retired vaults are unwatched. A deposit address carries its
//   request's expiry: the watcher reads an expired request's address at one block in
//   custody.lateDepositEveryBlocks only (src/custody/late-deposits.ts);
// - a request leaves the store `retainMs` after it expired or was paid, unless funds are still at
//   its deposit address (a deposit that arrives after expiry is refunded by a round first) or its
//   payment is in flight.
import type { Deposit, DepositWatcher } from '../custody/deposits.js';
import { ZERO_CURSOR, type Cursor, type RequestStore, type TransferRequest } from '../custody/requests.js';
import type { Db } from '../store/db.js';
import { vaultAddress } from '../crypto/taproot.js';
import type { EpochKey } from '../crypto/types.js';

/**
 * The requests a custody round can act on: those with funds at their deposit address (`live`
 * deposits), created before `cutoffMs`, under one of `epochs`; read by id, so a round's work
 * follows the deposits, not every request ever stored. In creation order.
 */
export function fundedRequests(requests: RequestStore, live: Deposit[], cutoffMs: number, epochs: Set<number>): TransferRequest[] {
  const ids = new Set(live.filter((d) => d.kind === 'deposit' && d.requestId !== undefined).map((d) => d.requestId!));
  return [...ids]
    .map((id) => requests.get(id))
    .filter((r): r is TransferRequest => r !== undefined && r.timestamp < cutoffMs && epochs.has(r.epoch))
    .sort((a, b) => a.timestamp - b.timestamp || a.timestampIndex - b.timestampIndex || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface RequestUpkeepOptions {
  db: Db;
  requests: RequestStore;
  deposits: DepositWatcher;
  /** Vault keys of every epoch not retired (their addresses stay watched). */
  liveVaults: () => { epoch: number; key: EpochKey }[];
  retainMs: number;
  now: () => number;
  /** Records archived per pass (the rest wait for the next poll). */
  archiveBatch?: number;
}

export class RequestUpkeep {
  /** Store position up to which every record is watched (this process's walk). */
  private cursor: Cursor = ZERO_CURSOR;
  private reconciled = false;

  constructor(private readonly o: RequestUpkeepOptions) {}

  /** Brings the watch set to: open requests + live vault addresses. */
  syncWatches(): void {
    const { deposits, requests } = this.o;
    const vaults = new Map(this.o.liveVaults().map((v) => [vaultAddress(v.key), v.epoch]));
    if (!this.reconciled) {
      // Once per process: drop watches left by a crash between archiving and unwatching, or of
      // vaults retired meanwhile.
      for (const { address, meta } of deposits.watched()) {
        if (meta.kind === 'vault' ? !vaults.has(address) : meta.requestId === undefined || requests.get(meta.requestId) === undefined) deposits.unwatch(address);
      }
      this.reconciled = true;
    }
    const watched = new Map(deposits.watched().map((w) => [w.address, w.meta]));
    for (const [address, epoch] of vaults) if (!watched.has(address)) deposits.watch(address, { kind: 'vault', epoch });
    for (const [address, meta] of watched) if (meta.kind === 'vault' && !vaults.has(address)) deposits.unwatch(address);
    for (const { record, cursor } of requests.all(this.cursor)) {
      // (A watch kept from before expiries were recorded gets its request's expiry here.)
      if (watched.get(record.depositAddress)?.expiry === undefined) this.watchRecord(record);
      this.cursor = cursor;
    }
  }

  /** Watches a stored record's deposit address (at once, when the store takes it). */
  watchRecord(record: TransferRequest): void {
    this.o.deposits.watch(record.depositAddress, { kind: 'deposit', requestId: record.id, epoch: record.epoch, expiry: record.expiry });
  }

  /** Archives requests past their retention; returns how many left the store. */
  archiveDone(): number {
    return this.archivePage().archived;
  }

  /**
   * Archives every request past its retention, a page at a time, until a page is not full or
   * archives nothing (its requests all wait for a refund or a payment in flight). For a start
   * on a large store, before the first watch sync: what is past retention is never watched.
   * Yields to the event loop between pages.
   */
  async archiveBacklog(): Promise<number> {
    let total = 0;
    for (;;) {
      const { archived, full } = this.archivePage();
      total += archived;
      if (!full || archived === 0) return total;
      await new Promise((r) => setImmediate(r)); // the API answers between pages
    }
  }

  private archivePage(): { archived: number; full: boolean } {
    const { db, requests, deposits } = this.o;
    const now = this.o.now();
    const batch = this.o.archiveBatch ?? 1000;
    const funded = new Set(deposits.list({ kind: 'deposit', status: ['seen', 'confirmed'] }).map((d) => d.requestId));
    const stateOf = db.prepare('SELECT state FROM transfers WHERE request_id = ?');
    const items: { id: string; reason: 'expired' | 'paid' }[] = [];
    const consider = (id: string, paid: boolean) => {
      if (funded.has(id)) return;
      const state = (stateOf.get(id) as { state: string } | undefined)?.state;
      if (state === 'in-flight') return;
      items.push({ id, reason: paid || state === 'paid' ? 'paid' : 'expired' });
    };
    const cutoff = now - this.o.retainMs;
    const expired = requests.expiredBefore(Math.floor(cutoff / 1000), batch);
    for (const id of expired) consider(id, false);
    const paid = db
      .prepare(
        `SELECT r.id FROM transfer_requests r JOIN transfers t ON t.request_id = r.id
         WHERE t.state = 'paid' AND t.updated_at < ? ORDER BY t.updated_at LIMIT ?`,
      )
      .all(cutoff, batch) as { id: string }[];
    for (const { id } of paid) if (!items.some((i) => i.id === id)) consider(id, true);
    const full = expired.length === batch || paid.length === batch;
    if (items.length === 0) return { archived: 0, full };
    const addresses = new Map(items.map((i) => [i.id, requests.get(i.id)?.depositAddress]));
    const n = requests.archive(items);
    for (const address of addresses.values()) if (address) deposits.unwatch(address);
    return { archived: n, full };
  }
}
