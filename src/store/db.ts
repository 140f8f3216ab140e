// One SQLite database per node, WAL mode, synchronous=FULL so a committed transaction survives
// kill -9 and power loss. Each module owns its migrations and passes them here; a migration is
// applied once, inside a transaction, and recorded in schema_migrations.
// Migrations only go forward, so two guards: a database that records a migration this code does
// not know was written by newer code (or another branch) and is refused, untouched; and before a
// migration changes an existing database, a consistent copy is taken beside it (VACUUM INTO),
// `<file>.before-<first pending id>-<unix ms>.bak`, mode 0600, so a downgrade is a file copy.
import Database from 'better-sqlite3';
import { mkdirSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MetanodeError } from '../util/errors.js';

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
  try {
    migrate(db, migrations, fresh ? undefined : path);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** The backup file migrate() writes before changing the database at `path`. */
export function backupPathFor(path: string, firstPending: string, at: number): string {
  return join(dirname(path), `${basename(path)}.before-${firstPending.replace(/[^A-Za-z0-9_-]/g, '_')}-${at}.bak`);
}

/**
 * Applies the pending migrations. Refuses (DATABASE_NEWER) a database that records migrations not
 * in `migrations`. With `backupOf` (the file of an existing database), copies it first.
 */
export function migrate(db: Db, migrations: Migration[], backupOf?: string): string | undefined {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT id FROM schema_migrations').all() as Array<{ id: string }>).map((r) => r.id));
  const known = new Set(migrations.map((m) => m.id));
  const unknown = [...applied].filter((id) => !known.has(id)).sort();
  if (unknown.length)
    throw new MetanodeError(
      'DATABASE_NEWER',
      `the database records migrations this code does not know (${unknown.join(', ')}): it was written by a newer metanode; run that version, or restore the backup taken before its upgrade (*.bak beside the database)`,
    );
  const pending = migrations.filter((m) => !applied.has(m.id));
  let backup: string | undefined;
  if (backupOf && applied.size > 0 && pending.length > 0) {
    backup = backupPathFor(backupOf, pending[0]!.id, Date.now());
    // Created empty and private first: VACUUM INTO accepts an empty file and keeps its mode.
    writeFileSync(backup, '', { mode: 0o600, flag: 'wx' });
    db.prepare('VACUUM INTO ?').run(backup);
  }
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
  return backup;
}
