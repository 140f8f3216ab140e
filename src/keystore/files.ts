// Durable, private file operations for key material. A write goes to a fresh 0600 temp file,
// is fsynced, renamed over the target and the directory fsynced, so a crash (kill -9, power
// loss) leaves either the old file or the new one, never a half-written key.
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync, constants, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { MetanodeError } from '../util/errors.js';

export const TMP_MARK = '.tmp-';

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch (e) {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const dir = dirname(file);
  const tmp = join(dir, `${basename(file)}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  fsyncDir(dir);
}

/** Overwrite a file's bytes with random data, fsync, then unlink it. Returns false if absent. */
export function destroyFile(file: string): boolean {
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (st.isFile() && st.size > 0) {
    const fd = openSync(file, constants.O_WRONLY);
    try {
      const noise = randomBytes(st.size);
      let off = 0;
      while (off < noise.length) off += writeSync(fd, noise, off, noise.length - off, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  unlinkSync(file);
  fsyncDir(dirname(file));
  return true;
}

/** Leftovers of writes interrupted before their rename; they hold nothing the real file lacks. */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.includes(TMP_MARK)) {
      destroyFile(join(dir, name));
      removed.push(name);
    }
  }
  return removed;
}

function modeString(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/** Create the key directory 0700, or check an existing one: a directory, ours, closed to others. */
export function ensurePrivateDir(dir: string, create: boolean): void {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    if (!create) throw new MetanodeError('KEYSTORE', `keystore directory ${dir} does not exist; run \`metanode init\` first`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = lstatSync(dir);
  }
  if (!st.isDirectory()) throw new MetanodeError('KEYSTORE', `keystore path ${dir} is not a directory`);
  checkOwner(dir, st);
  if ((st.mode & 0o077) !== 0)
    throw new MetanodeError('KEYSTORE', `keystore directory ${dir} is accessible by group/others (mode ${modeString(st.mode)}); run: chmod 700 ${dir}`);
}

/** A key or passphrase file must be a regular file, ours, and readable by nobody else. */
export function checkPrivateFile(file: string): Stats {
  const st = lstatSync(file);
  if (!st.isFile()) throw new MetanodeError('KEYSTORE', `${file} is not a regular file (symlinks are refused)`);
  checkOwner(file, st);
  if ((st.mode & 0o077) !== 0)
    throw new MetanodeError('KEYSTORE', `${file} is readable by group/others (mode ${modeString(st.mode)}); run: chmod 600 ${file}`);
  return st;
}

function checkOwner(path: string, st: Stats): void {
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && st.uid !== uid)
    throw new MetanodeError('KEYSTORE', `${path} belongs to uid ${st.uid}, not to this user (uid ${uid}); run: chown $(id -un) ${path}`);
}
