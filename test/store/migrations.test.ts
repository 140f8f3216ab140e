// Migrations go forward only: a database newer than the code is refused untouched, and an
// existing database is copied (0600) before a migration changes it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDb, type Migration } from '../../src/store/db.js';
import { isMetanodeError } from '../../src/util/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-migrate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const A: Migration = { id: 't-001-a', sql: 'CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (7);' };
const B: Migration = { id: 't-002-b', sql: 'CREATE TABLE b (y INTEGER);' };
const tables = (path: string) => (new Database(path, { readonly: true }).prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
const backups = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.bak'));

test('a fresh database is created without a backup; an upgrade backs the old one up first (0600)', () => {
  const dir = join(tmp, 'up');
  const path = join(dir, 'node.sqlite');
  openDb(path, [A]).close();
  assert.deepEqual(backups(dir), []);
  openDb(path, [A]).close();
  assert.deepEqual(backups(dir), [], 'nothing pending: no backup');
  openDb(path, [A, B]).close();
  const [bak, ...more] = backups(dir);
  assert.equal(more.length, 0);
  assert.match(bak!, /^node\.sqlite\.before-t-002-b-\d+\.bak$/);
  assert.equal(statSync(join(dir, bak!)).mode & 0o777, 0o600);
  assert.deepEqual(tables(join(dir, bak!)), ['a', 'schema_migrations']);
  assert.deepEqual(tables(path), ['a', 'b', 'schema_migrations']);
});

test('downgrade refused: a database newer than the code is not opened, and stays as it was', () => {
  const dir = join(tmp, 'down');
  const path = join(dir, 'node.sqlite');
  openDb(path, [A, B]).close();
  assert.throws(
    () => openDb(path, [A]),
    (e) => isMetanodeError(e, 'DATABASE_NEWER') && e.message.includes('t-002-b'),
  );
  assert.deepEqual(tables(path), ['a', 'b', 'schema_migrations']);
  assert.deepEqual(backups(dir), []);
});
