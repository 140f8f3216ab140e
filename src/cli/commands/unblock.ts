// `metanode peers unblock <peer>`: takes a peer off this node's local blocklist. The running node
// keeps its blocklist in memory, and the HTTP API has no state-changing route for it, so this
// works on a stopped node only: it takes the data directory's lock (a running node holds it and
// is named) and deletes the entry in one SQLite transaction. The blocklist is local: it never
// changed committee membership, and unblocking changes nothing another node decides.
import { existsSync } from 'node:fs';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Config } from '../../config/schema.js';
import { openDb } from '../../store/db.js';
import { nodeMigrations } from '../../node/migrations.js';
import { dbPathOf } from '../../node/datadir.js';
import { lockDataDir } from '../../node/lock.js';
import { Blocklist, type BlockEntry } from '../../p2p/blocklist.js';
import { MetanodeError, isMetanodeError } from '../../util/errors.js';

export interface UnblockResult {
  peerId: string;
  /** The entry removed; null when the peer was not blocked. */
  removed: BlockEntry | null;
}

export function unblockCommand(config: Config, peer: string, now: () => number = Date.now): UnblockResult {
  try {
    if (peerIdFromString(peer).toString() !== peer) throw new Error('not canonical');
  } catch {
    throw new MetanodeError('INVALID_INPUT', `not a peer id: ${JSON.stringify(peer)} (expected e.g. 12D3KooW...)`);
  }
  const dbPath = dbPathOf(config);
  if (!existsSync(dbPath)) throw new MetanodeError('NODE_ERROR', `no node database at ${dbPath}: the node has not run with dataDir ${config.dataDir} yet`);
  let lock;
  try {
    lock = lockDataDir(config.dataDir);
  } catch (e) {
    if (!isMetanodeError(e, 'DATADIR_LOCKED')) throw e;
    throw new MetanodeError(
      'DATADIR_LOCKED',
      `${e.reason.replace(/: one node per data directory; stop that one first$/, '')}: the running node keeps its blocklist in memory; stop it, run \`metanode peers unblock\` again, then start it`,
      [],
      e.detail,
    );
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
