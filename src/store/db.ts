// One SQLite database per node, WAL mode, synchronous=FULL so a committed transaction survives
// kill -9 and power loss. Each module owns its migrations and passes them here; a migration is
// applied once, inside a transaction, and recorded in schema_migrations.
import Database from 'better-sqlite3';
import { mkdirSync, chmodSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;
export interface Migration {
  /** Unique, stable id, prefixed by the owning module: 'chain-001-headers'. */
  id: string;
  sql: string;
}

export function openDb(path: string, migrations: Migration[]): Db {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
  const fresh = path === ':memory:' || !existsSync(path);
  const db = new Database(path);
  if (fresh && path !== ':memory:') chmodSync(path, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function migrate(db: Db, migrations: Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const has = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?');
  const mark = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`duplicate migration id ${m.id}`);
    ids.add(m.id);
    if (has.get(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      mark.run(m.id, Date.now());
    })();
  }
}
