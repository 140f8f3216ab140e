// One node per data directory. The lock is a kernel lock: an SQLite database (node.lock) opened
// with locking_mode=EXCLUSIVE and a write, so the lock lives exactly as long as the holding
// process (kill -9 and power loss release it; no stale-file cleanup to race on). The holder's PID
// is written beside it (node.pid) so a second start can name it.
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetanodeError } from '../util/errors.js';

export const LOCK_FILE = 'node.lock';
export const PID_FILE = 'node.pid';

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function holderPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, PID_FILE), 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the data directory's lock or throws DATADIR_LOCKED naming the PID that holds it. */
export function lockDataDir(dataDir: string, pid: number = process.pid): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('journal_mode = DELETE');
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the EXCLUSIVE lock; in this locking mode it is kept until close.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(pid);
    db.exec('COMMIT');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY' || (e as { code?: string }).code === 'SQLITE_LOCKED') {
      const holder = holderPid(dataDir);
      throw new MetanodeError(
        'DATADIR_LOCKED',
        `data directory ${dataDir} is in use by another metanode${holder ? ` (PID ${holder})` : ''}: one node per data directory; stop that one first`,
        [],
        holder ? { pid: holder } : undefined,
      );
    }
    throw e;
  }
  writeFileSync(join(dataDir, PID_FILE), `${pid}\n`, { mode: 0o600 });
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      if (holderPid(dataDir) === pid) rmSync(join(dataDir, PID_FILE), { force: true });
      db.close();
    },
  };
}
