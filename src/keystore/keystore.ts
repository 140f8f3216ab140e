// The node's key directory: one encrypted identity key (libp2p Ed25519) and one encrypted
// threshold share per epoch. Everything secret is sealed with the operator's passphrase;
// public facts (peer id, epoch) sit in the authenticated header so `metanode keys` can show
// them without the passphrase.
import { existsSync, readdirSync, readFileSync, renameSync, fsyncSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { z } from 'zod';
import type { KeyShare } from '../crypto/types.js';
import { MetanodeError } from '../util/errors.js';
import { checkPrivateFile, destroyFile, ensurePrivateDir, removeStaleTemps, writeFileAtomic } from './files.js';
import { parseSealed, seal, unseal, type SealedKind } from './sealed.js';
import { SCRYPT_N_DEFAULT, SCRYPT_N_MIN } from '../config/schema.js';

export const IDENTITY_FILE = 'identity.key';
const SHARE_RE = /^share-(\d{1,9})\.key$/;
export const shareFileName = (epoch: number) => `share-${epoch}.key`;
/** Sub-directory (0700) where shares without an adopted record are set aside, never deleted. */
export const QUARANTINE_DIR = 'quarantine';

const keyShareSchema = z.strictObject({
  epoch: z.number().int().nonnegative(),
  identifier: z.string().regex(/^[0-9a-f]{64}$/),
  signingShare: z.string().regex(/^[0-9a-f]{64}$/),
});

export interface KeystoreOptions {
  dir: string;
  passphrase: string;
  /** Where the passphrase came from, named in a wrong-passphrase error. */
  passphraseSource?: string;
  /** scrypt cost for newly written files (power of two); default 2^15. */
  scryptN?: number;
  /** Create the directory (0700) if missing; default true. */
  create?: boolean;
}

export interface KeystoreInfo {
  dir: string;
  /** Peer id from the identity file's header, or null before `init`. */
  peerId: string | null;
  /** Epochs with a stored share, ascending. */
  shareEpochs: number[];
}

export interface InitResult {
  peerId: string;
  created: boolean;
  file: string;
}

function checkEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > 999_999_999) throw new MetanodeError('INVALID_INPUT', `invalid epoch ${epoch}`);
}

/** The key files in `dir`: the identity and the shares. */
export function listKeyFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n === IDENTITY_FILE || SHARE_RE.test(n));
}

/** Public view of a key directory, no passphrase needed. Still refuses unsafe permissions. */
export function inspectKeystore(dir: string): KeystoreInfo {
  ensurePrivateDir(dir, false);
  const names = listKeyFiles(dir);
  let peerId: string | null = null;
  for (const n of names) checkPrivateFile(join(dir, n));
  if (names.includes(IDENTITY_FILE)) {
    const f = join(dir, IDENTITY_FILE);
    const sealed = parseSealed(readFileSync(f, 'utf8'), f);
    peerId = typeof sealed.meta.peerId === 'string' ? sealed.meta.peerId : null;
  }
  const shareEpochs = names.flatMap((n) => (SHARE_RE.exec(n) ? [Number(SHARE_RE.exec(n)![1])] : [])).sort((a, b) => a - b);
  return { dir, peerId, shareEpochs };
}

export class Keystore {
  readonly dir: string;
  readonly #passphrase: string;
  readonly #scryptN: number;
  readonly #source: string | undefined;

  private constructor(dir: string, passphrase: string, scryptN: number, source: string | undefined) {
    this.dir = dir;
    this.#passphrase = passphrase;
    this.#scryptN = scryptN;
    this.#source = source;
  }

  /** Open (and by default create) the key directory, checking every key file's permissions. */
  static open(opts: KeystoreOptions): Keystore {
    const n = opts.scryptN ?? SCRYPT_N_DEFAULT;
    if (!Number.isInteger(n) || n < SCRYPT_N_MIN || (n & (n - 1)) !== 0) throw new MetanodeError('INVALID_INPUT', `scryptN must be a power of two >= ${SCRYPT_N_MIN}`);
    if (opts.passphrase.length === 0) throw new MetanodeError('KEYSTORE', 'empty passphrase');
    ensurePrivateDir(opts.dir, opts.create ?? true);
    removeStaleTemps(opts.dir);
    for (const name of listKeyFiles(opts.dir)) checkPrivateFile(join(opts.dir, name));
    return new Keystore(opts.dir, opts.passphrase, n, opts.passphraseSource);
  }

  get identityPath(): string {
    return join(this.dir, IDENTITY_FILE);
  }

  hasIdentity(): boolean {
    return existsSync(this.identityPath);
  }

  /** Create the identity key if there is none; an existing one is checked (passphrase) and kept. */
  async init(): Promise<InitResult> {
    if (this.hasIdentity()) {
      const key = await this.loadIdentity();
      return { peerId: peerIdFromPrivateKey(key).toString(), created: false, file: this.identityPath };
    }
    // @libp2p/crypto 5.1 is typed against @libp2p/interface 3 while libp2p 2.9 uses 2; same runtime shape.
    const key = (await generateKeyPair('Ed25519')) as unknown as PrivateKey;
    const peerId = peerIdFromPrivateKey(key).toString();
    const pb = privateKeyToProtobuf(key as unknown as Parameters<typeof privateKeyToProtobuf>[0]);
    try {
      await this.#write(this.identityPath, 'identity', { peerId, keyType: 'Ed25519' }, pb);
    } finally {
      pb.fill(0);
    }
    return { peerId, created: true, file: this.identityPath };
  }

  async loadIdentity(): Promise<PrivateKey> {
    if (!this.hasIdentity()) throw new MetanodeError('KEYSTORE', `no identity key in ${this.dir}; run \`metanode init\` first`);
    const { plain, meta } = await this.#read(this.identityPath, 'identity');
    try {
      const key = privateKeyFromProtobuf(plain) as unknown as PrivateKey;
      const peerId = peerIdFromPrivateKey(key).toString();
      if (meta.peerId !== peerId) throw new MetanodeError('KEYSTORE', `${this.identityPath}: header peer id does not match the key`);
      return key;
    } catch (e) {
      if (e instanceof MetanodeError) throw e;
      throw new MetanodeError('KEYSTORE', `${this.identityPath}: decrypted content is not a libp2p private key`);
    } finally {
      plain.fill(0);
    }
  }

  /**
   * Store the share for `epoch`. Writing the same share again is a no-op; a different share for
   * an epoch that already has one is refused (SHARE_INCONSISTENCY): a share is never replaced.
   */
  async saveShare(epoch: number, share: KeyShare): Promise<void> {
    checkEpoch(epoch);
    const parsed = keyShareSchema.safeParse(share);
    if (!parsed.success) throw new MetanodeError('INVALID_INPUT', `invalid key share: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
    if (share.epoch !== epoch) throw new MetanodeError('INVALID_INPUT', `share is for epoch ${share.epoch}, not ${epoch}`);
    const file = join(this.dir, shareFileName(epoch));
    if (existsSync(file)) {
      const old = await this.loadShare(epoch);
      if (old && old.identifier === share.identifier && old.signingShare === share.signingShare) return;
      throw new MetanodeError('SHARE_INCONSISTENCY', `a different share for epoch ${epoch} is already stored in ${file}`);
    }
    const plain = Buffer.from(JSON.stringify({ epoch: share.epoch, identifier: share.identifier, signingShare: share.signingShare }), 'utf8');
    try {
      await this.#write(file, 'share', { epoch, identifier: share.identifier }, plain);
    } finally {
      plain.fill(0);
    }
  }

  /** The share for `epoch`, or null when none is stored. */
  async loadShare(epoch: number): Promise<KeyShare | null> {
    checkEpoch(epoch);
    const file = join(this.dir, shareFileName(epoch));
    if (!existsSync(file)) return null;
    const { plain, meta } = await this.#read(file, 'share');
    try {
      let json: unknown;
      try {
        json = JSON.parse(plain.toString('utf8'));
      } catch {
        throw new MetanodeError('KEYSTORE', `${file}: decrypted content is not a key share`);
      }
      const r = keyShareSchema.safeParse(json);
      if (!r.success) throw new MetanodeError('KEYSTORE', `${file}: decrypted content is not a key share`);
      if (r.data.epoch !== epoch || meta.epoch !== epoch || meta.identifier !== r.data.identifier)
        throw new MetanodeError('SHARE_INCONSISTENCY', `${file} holds the share of epoch ${r.data.epoch}, expected ${epoch}`);
      return r.data;
    } finally {
      plain.fill(0);
    }
  }

  /** Overwrite and delete the share of `epoch`; false when there was none. */
  destroyShare(epoch: number): boolean {
    checkEpoch(epoch);
    return destroyFile(join(this.dir, shareFileName(epoch)));
  }

  /**
   * Moves the share file of `epoch` into <dir>/quarantine/ (0700), named with the time it was
   * set aside so an earlier quarantined file of the same epoch is never overwritten. Still
   * sealed with the passphrase, still 0600. Returns the new path.
   */
  quarantineShare(epoch: number, at: Date = new Date()): string {
    checkEpoch(epoch);
    const from = join(this.dir, shareFileName(epoch));
    checkPrivateFile(from);
    const qdir = join(this.dir, QUARANTINE_DIR);
    ensurePrivateDir(qdir, true);
    const stamp = at.toISOString().replace(/[:.]/g, '-');
    let to = join(qdir, `share-${epoch}.${stamp}.key`);
    for (let i = 2; existsSync(to); i++) to = join(qdir, `share-${epoch}.${stamp}.${i}.key`);
    renameSync(from, to);
    for (const d of [qdir, this.dir]) {
      const fd = openSync(d, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return to;
  }

  /** Paths of quarantined share files, sorted by name. */
  listQuarantinedShares(): string[] {
    const qdir = join(this.dir, QUARANTINE_DIR);
    if (!existsSync(qdir)) return [];
    return readdirSync(qdir)
      .filter((n) => /^share-\d{1,9}\..*\.key$/.test(n))
      .sort()
      .map((n) => join(qdir, n));
  }

  listShares(): number[] {
    return readdirSync(this.dir)
      .flatMap((n) => {
        const m = SHARE_RE.exec(n);
        return m ? [Number(m[1])] : [];
      })
      .sort((a, b) => a - b);
  }

  /**
   * Re-seals every key file under `newPassphrase` (fresh salt and nonce each). All files are
   * decrypted first, so a wrong current passphrase changes nothing; each file is then replaced
   * atomically. Resumable: a file that already opens with the new passphrase (an earlier run
   * that stopped midway) is left as it is. Returns the files re-sealed.
   */
  async changePassphrase(newPassphrase: string): Promise<string[]> {
    const names = listKeyFiles(this.dir);
    const next = Keystore.open({ dir: this.dir, passphrase: newPassphrase, scryptN: this.#scryptN });
    const plan: Array<{ file: string; kind: SealedKind; meta: Record<string, string | number>; plain: Buffer }> = [];
    try {
      for (const n of names) {
        const file = join(this.dir, n);
        const kind = parseSealed(readFileSync(file, 'utf8'), file).kind;
        try {
          plan.push({ file, kind, ...(await this.#read(file, kind)) });
        } catch (e) {
          // Already under the new passphrase (a resumed change)? Then nothing to do for it.
          const done = await next.#read(file, kind).then((r) => (r.plain.fill(0), true)).catch(() => false);
          if (!done) throw e;
        }
      }
      for (const p of plan) await next.#write(p.file, p.kind, p.meta, p.plain);
      return plan.map((p) => p.file);
    } finally {
      for (const p of plan) p.plain.fill(0);
    }
  }

  async #write(file: string, kind: SealedKind, meta: Record<string, string | number>, plain: Uint8Array): Promise<void> {
    const sealed = await seal(kind, meta, plain, this.#passphrase, this.#scryptN);
    writeFileAtomic(file, JSON.stringify(sealed, null, 2) + '\n');
  }

  async #read(file: string, kind: SealedKind): Promise<{ plain: Buffer; meta: Record<string, string | number> }> {
    checkPrivateFile(file);
    const sealed = parseSealed(readFileSync(file, 'utf8'), file);
    if (sealed.kind !== kind) throw new MetanodeError('KEYSTORE', `${file} holds a ${sealed.kind} key, expected ${kind}`);
    const plain = await unseal(sealed, this.#passphrase, file, this.#source);
    return { plain, meta: sealed.meta };
  }

  /** Keeps the passphrase out of console.log / util.inspect of the object. */
  toJSON(): { dir: string } {
    return { dir: this.dir };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Keystore(${this.dir})`;
  }
}
