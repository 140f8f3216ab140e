// Reads a node's data directory without the node: the CLI's read commands use it when the node
// is stopped. The SQLite database is opened read-only (nothing is migrated or written), and the
// answers are the same views the running node serves over HTTP (./views.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from '../config/schema.js';
import type { NodeApi, NodeStatus } from '../api/types.js';
import type { ChainSource } from '../chain/types.js';
import type { Db } from '../store/db.js';
import { PeerTable } from '../p2p/peer-table.js';
import { Blocklist } from '../p2p/blocklist.js';
import { RequestStore } from '../custody/requests.js';
import { DepositWatcher } from '../custody/deposits.js';
import { EpochStore } from '../epochs/store.js';
import { inspectKeystore } from '../keystore/index.js';
import { errorMessage, MetanodeError } from '../util/errors.js';
import { packageVersion } from '../util/version.js';
import { depositViews, epochsView, peerViews, roundView, roundsView, transferViews } from './views.js';

export const DB_FILE = 'node.sqlite';

/** What a stopped node can still answer: every read of NodeApi. */
/** Rewards need the stakes' reward addresses, which only the running node holds. */
export type DataDirApi = Omit<NodeApi, 'health' | 'submitRequest' | 'unblockPeer' | 'rewards'>;

export interface DataDirReader extends DataDirApi {
  readonly dbPath: string;
  close(): void;
}

export function dbPathOf(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, DB_FILE);
}

/** A chain source for code paths that must never reach the chain (the reader only reads SQLite). */
const noChain = new Proxy({} as ChainSource, {
  get: (_t, prop) => (prop === 'kind' ? 'esplora' : () => Promise.reject(new MetanodeError('CHAIN_UNAVAILABLE', 'reading a data directory: no chain access'))),
});

export function openDataDir(config: Config, opts: { now?: () => number; version?: string } = {}): DataDirReader {
  const dbPath = dbPathOf(config);
  if (!existsSync(dbPath)) throw new MetanodeError('NODE_ERROR', `no node database at ${dbPath}: the node has not run with dataDir ${config.dataDir} yet`);
  let db: Db;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    // Fail here, with the path, rather than on the first query.
    db.prepare('SELECT id FROM schema_migrations LIMIT 1').all();
  } catch (e) {
    throw new MetanodeError('NODE_ERROR', `cannot read ${dbPath}: ${errorMessage(e)}`);
  }
  const now = opts.now ?? Date.now;
  const epochs = new EpochStore(db);
  const table = () => new PeerTable(db).list();
  const blocked = () => new Blocklist(db, now).list();
  const requests = () =>
    new RequestStore({ db, network: config.network, depositAddressFor: () => undefined, currentEpoch: () => epochs.current()?.record.epoch ?? 0, now }).list({ limit: 10_000 });
  const deposits = () => new DepositWatcher({ chain: noChain, db, minConfirmations: config.custody.minConfirmations, now }).list();

  const status = (): NodeStatus => {
    const cur = epochs.current();
    const peers = table();
    let peerId = '';
    try {
      peerId = inspectKeystore(config.keystore.dir).peerId ?? '';
    } catch {
      // The key directory may be closed to this user; the rest of the status is still useful.
    }
    const stake = config.stake;
    return {
      peerId,
      network: config.network,
      version: opts.version ?? packageVersion(),
      running: false,
      startedAt: null,
      uptimeSec: null,
      state: 'stopped',
      epoch: cur?.record.epoch ?? null,
      vaultAddress: cur?.record.vaultAddress ?? null,
      threshold: cur?.record.threshold ?? null,
      committeeSize: cur?.record.committee.length ?? null,
      chain: { source: config.chain.source, reachable: false, tipHeight: null, tipTime: null },
      peers: { connected: 0, admitted: peers.length, staked: peers.length, blocked: blocked().length },
      stake: stake.txid !== undefined && stake.vout !== undefined ? { txid: stake.txid, vout: stake.vout, valid: false, reason: 'not verified: the node is not running' } : null,
      currentRound: null,
      clockSkewMs: null,
    };
  };

  return {
    dbPath,
    status,
    peers: () => peerViews({ table: table(), blocked: blocked(), connected: [] }),
    rounds: (q) => roundsView(db, q),
    round: (id) => roundView(db, id),
    transfers: (q) => transferViews(db, requests(), now(), q, { finalityDepth: config.custody.finalityDepth }),
    deposits: (q) => depositViews(deposits(), q),
    epochs: () => epochsView(epochs),
    close: () => db.close(),
  };
}
