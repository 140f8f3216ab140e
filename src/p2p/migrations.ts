// SQLite schema owned by the peer network. Amounts are TEXT (decimal sats) to keep bigint exact.
import type { Migration } from '../store/db.js';

export const p2pMigrations: Migration[] = [
  {
    id: 'p2p-001-peers',
    sql: `
      CREATE TABLE p2p_peers (
        peer_id TEXT PRIMARY KEY,
        seniority_height INTEGER NOT NULL,
        seniority_txid TEXT NOT NULL,
        stake_outpoint TEXT NOT NULL,
        amount TEXT NOT NULL,
        reward_address TEXT NOT NULL,
        state TEXT NOT NULL,
        last_seen INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        clock_offset_ms INTEGER NOT NULL,
        tip INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        round INTEGER NOT NULL,
        has_proof INTEGER NOT NULL
      );
      CREATE TABLE p2p_blocklist (
        peer_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        since INTEGER NOT NULL,
        until INTEGER NOT NULL
      );
    `,
  },
  {
    id: 'p2p-002-replication-cursors',
    sql: `
      CREATE TABLE p2p_replication_cursors (
        peer_id TEXT PRIMARY KEY,
        timestamp INTEGER NOT NULL,
        timestamp_index INTEGER NOT NULL
      );
    `,
  },
  {
    // The clock of the newest ping this data directory sent, written before it goes out: a ping
    // of ours stamped later that this process did not send is another instance's (doppelganger.ts).
    id: 'p2p-003-own-ping',
    sql: `
      CREATE TABLE p2p_own_ping (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_clock INTEGER NOT NULL
      );
    `,
  },
];
