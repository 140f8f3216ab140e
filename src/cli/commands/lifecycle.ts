// Keeping a node's state: `metanode backup` (one 0600 archive: an online SQLite backup of the
// node database plus the keystore files, still sealed under the passphrase), `metanode restore`
// (into a data directory that holds no node yet), and `metanode keys change-passphrase` (every
// key file re-sealed; the node stopped, under the data directory's lock).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { IDENTITY_FILE, inspectKeystore, listKeyFiles, obtainPassphrase, openKeystoreFromConfig, type PassphrasePrompt } from '../../keystore/index.js';
import { dbPathOf } from '../../node/datadir.js';
import { lockDataDir } from '../../node/lock.js';
import { MetanodeError, errorMessage } from '../../util/errors.js';

export const BACKUP_FORMAT = 'metanode-backup';

const archiveSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(1),
  createdAt: z.string(),
  peerId: z.string().min(1),
  /** The SQLite database, base64. */
  db: z.string(),
  /** Key file name to its content (sealed JSON text). */
  keys: z.record(z.string().regex(/^(identity\.key|share-\d{1,9}\.key)$/), z.string()),
});
export type BackupArchive = z.infer<typeof archiveSchema>;

export interface BackupResult {
  file: string;
  peerId: string;
  keyFiles: string[];
  dbBytes: number;
}

/** Online backup: works while the node runs (SQLite's backup API copies a consistent snapshot). */
export async function backupCommand(config: Config, out: string): Promise<BackupResult> {
  const file = resolve(out);
  if (existsSync(file)) throw new MetanodeError('INVALID_INPUT', `${file} exists; choose a new file name (a backup is never overwritten)`);
  const dbPath = dbPathOf(config);
  if (!existsSync(dbPath)) throw new MetanodeError('NODE_ERROR', `no node database at ${dbPath}: the node has not run with dataDir ${config.dataDir} yet`);
  const info = inspectKeystore(config.keystore.dir);
  if (!info.peerId) throw new MetanodeError('KEYSTORE', `no identity key in ${config.keystore.dir}`);
  const names = listKeyFiles(config.keystore.dir).sort();
  const snapshot = `${file}.db-tmp`;
  const src = new Database(dbPath, { readonly: true, fileMustExist: true });
  let db: Buffer;
  try {
    await src.backup(snapshot);
    db = readFileSync(snapshot);
  } catch (e) {
    throw new MetanodeError('NODE_ERROR', `backing up ${dbPath}: ${errorMessage(e)}`);
  } finally {
    src.close();
    rmSync(snapshot, { force: true });
  }
  const archive: BackupArchive = {
    format: BACKUP_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    peerId: info.peerId,
    db: db.toString('base64'),
    keys: Object.fromEntries(names.map((n) => [n, readFileSync(join(config.keystore.dir, n), 'utf8')])),
  };
  writeFileSync(file, JSON.stringify(archive) + '\n', { mode: 0o600, flag: 'wx' });
  return { file, peerId: info.peerId, keyFiles: names, dbBytes: db.length };
}

export interface RestoreResult {
  peerId: string;
  dataDir: string;
  keystoreDir: string;
  keyFiles: string[];
}

/** Restores into a data directory without a node (no database, no key files); the node must not run. */
export function restoreCommand(config: Config, archiveFile: string): RestoreResult {
  let archive: BackupArchive;
  try {
    const r = archiveSchema.safeParse(JSON.parse(readFileSync(archiveFile, 'utf8')));
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    archive = r.data;
  } catch (e) {
    throw new MetanodeError('INVALID_INPUT', `${archiveFile} is not a metanode backup: ${errorMessage(e)}`);
  }
  const identity = archive.keys[IDENTITY_FILE];
  if (!identity || (JSON.parse(identity) as { meta?: { peerId?: string } }).meta?.peerId !== archive.peerId)
    throw new MetanodeError('INVALID_INPUT', `${archiveFile}: the identity key does not belong to peer ${archive.peerId}`);
  const lock = lockDataDir(config.dataDir);
  try {
    const dbPath = dbPathOf(config);
    if (existsSync(dbPath)) throw new MetanodeError('INVALID_INPUT', `${dbPath} exists: restore only into a data directory without a node (move it away first)`);
    const ks = config.keystore.dir;
    mkdirSync(ks, { recursive: true, mode: 0o700 });
    const present = listKeyFiles(ks);
    if (present.length) throw new MetanodeError('INVALID_INPUT', `${ks} already holds key files (${present.join(', ')}): restore only into an empty keystore`);
    for (const [name, text] of Object.entries(archive.keys)) writeFileSync(join(ks, name), text, { mode: 0o600, flag: 'wx' });
    writeFileSync(dbPath, Buffer.from(archive.db, 'base64'), { mode: 0o600, flag: 'wx' });
    return { peerId: archive.peerId, dataDir: config.dataDir, keystoreDir: ks, keyFiles: Object.keys(archive.keys).sort() };
  } finally {
    lock.release();
  }
}

export interface PassphraseChange {
  keystoreDir: string;
  resealed: string[];
  note: string;
}

/** Re-seals every key file under a new passphrase (from `newPassphraseFile`, else the prompt, asked twice). */
export async function changePassphraseCommand(
  config: Config,
  env: Record<string, string | undefined>,
  opts: { newPassphraseFile?: string; prompt?: PassphrasePrompt },
): Promise<PassphraseChange> {
  const lock = lockDataDir(config.dataDir);
  try {
    const current = await obtainPassphrase(config.keystore, env, opts.prompt);
    const ks = openKeystoreFromConfig(config, env, false, current);
    // Check the current passphrase on the identity before anything is written.
    await ks.loadIdentity();
    const next = await obtainPassphrase(opts.newPassphraseFile ? { passphraseFile: opts.newPassphraseFile } : {}, {}, opts.prompt, { confirm: true });
    if (next.passphrase === current.passphrase) throw new MetanodeError('INVALID_INPUT', 'the new passphrase is the same as the current one');
    const resealed = await ks.changePassphrase(next.passphrase);
    return {
      keystoreDir: ks.dir,
      resealed,
      note: `the node now needs the new passphrase: put it where the config reads it from (${current.source}) before the next start`,
    };
  } finally {
    lock.release();
  }
}
