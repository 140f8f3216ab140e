// `metanode peers unblock <peer>`: takes a peer off this node's local blocklist. On a stopped node
// it takes the data directory's lock and deletes the entry in one SQLite transaction; while the
// node runs (the lock is held) it asks the node over its API (POST /v1/peers/<peer>/unblock,
// with the bearer token of the data directory), because the running node holds the list in
// memory. The blocklist is local: it never changed committee membership, and unblocking changes
// nothing another node decides.
import { existsSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import type { UnblockResult } from '../../api/types.js';
import { parsePeerId } from '../../api/validate.js';
import { openDb } from '../../store/db.js';
import { nodeMigrations } from '../../node/migrations.js';
import { dbPathOf } from '../../node/datadir.js';
import { lockDataDir } from '../../node/lock.js';
import { Blocklist } from '../../p2p/blocklist.js';
import { MetanodeError, isMetanodeError } from '../../util/errors.js';
import type { ApiClient } from '../client.js';

export type { UnblockResult };

/**
 * Unblocks `peer` in the data directory, or through `running()` (the running node's API client)
 * when a node holds the directory.
 */
export async function unblockCommand(config: Config, peer: string, running: () => ApiClient, now: () => number = Date.now): Promise<UnblockResult> {
  parsePeerId(peer);
  const dbPath = dbPathOf(config);
  if (!existsSync(dbPath)) throw new MetanodeError('NODE_ERROR', `no node database at ${dbPath}: the node has not run with dataDir ${config.dataDir} yet`);
  let lock;
  try {
    lock = lockDataDir(config.dataDir);
  } catch (e) {
    if (!isMetanodeError(e, 'DATADIR_LOCKED')) throw e;
    const api = running();
    try {
      return await api.post<UnblockResult>(`/v1/peers/${encodeURIComponent(peer)}/unblock`, {});
    } catch (err) {
      if (!isMetanodeError(err, 'NODE_UNREACHABLE')) throw err;
      throw new MetanodeError(
        'DATADIR_LOCKED',
        `${e.reason.replace(/: one node per data directory; stop that one first$/, '')}, and its API at ${api.baseUrl} does not answer (${err.reason}); the running node keeps its blocklist in memory: unblock through its API, or stop it and run \`metanode peers unblock\` again`,
        [],
        e.detail,
      );
    }
  }
  try {
    const db = openDb(dbPath, nodeMigrations);
    try {
      const list = new Blocklist(db, now);
      const removed = list.get(peer) ?? null;
      list.unblock(peer);
      return { peerId: peer, removed };
    } finally {
      db.close();
    }
  } finally {
    lock.release();
  }
}

export function renderUnblock(r: UnblockResult): string {
  return r.removed ? `unblocked ${r.peerId} (was blocked for ${r.removed.reason}: ${r.removed.detail})` : `${r.peerId} was not blocked; nothing changed`;
}
