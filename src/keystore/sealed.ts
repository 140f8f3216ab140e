// The encrypted file format: scrypt derives a key from the passphrase, AES-256-GCM seals the
// secret, and the public header is bound as additional authenticated data so that a file
// renamed or edited (another epoch, another kind) fails to open instead of being misread.
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { z } from 'zod';
import { MetanodeError } from '../util/errors.js';

export const FORMAT = 'metanode-keystore';
export const VERSION = 1;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));

export const sealedSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  kind: z.enum(['identity', 'share']),
  /** Public facts about the content (peer id, epoch); authenticated, not secret. */
  meta: z.record(z.string(), z.union([z.string(), z.number()])),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    N: z.number().int().min(2).max(1 << 22),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    salt: hex(16),
  }),
  cipher: z.strictObject({ name: z.literal('aes-256-gcm'), iv: hex(12), tag: hex(16) }),
  ciphertext: z.string().regex(/^([0-9a-f]{2})+$/),
});

export type SealedFile = z.infer<typeof sealedSchema>;
export type SealedKind = SealedFile['kind'];

function deriveKey(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  // scrypt needs 128*N*r bytes; node's default maxmem (32 MiB) is exactly too small for N=2^15, r=8.
  const maxmem = 256 * N * r + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scryptCb(passphrase.normalize('NFKC'), salt, 32, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function aad(f: Pick<SealedFile, 'format' | 'version' | 'kind' | 'meta' | 'kdf'>): Buffer {
  const meta = Object.fromEntries(Object.entries(f.meta).sort(([a], [b]) => (a < b ? -1 : 1)));
  return Buffer.from(JSON.stringify([f.format, f.version, f.kind, meta, f.kdf.name, f.kdf.N, f.kdf.r, f.kdf.p, f.kdf.salt]));
}

export async function seal(
  kind: SealedKind,
  meta: Record<string, string | number>,
  plaintext: Uint8Array,
  passphrase: string,
  scryptN: number,
): Promise<SealedFile> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const kdf = { name: 'scrypt' as const, N: scryptN, r: 8, p: 1, salt: salt.toString('hex') };
  const header = { format: FORMAT, version: VERSION, kind, meta, kdf } as const;
  const key = await deriveKey(passphrase, salt, kdf.N, kdf.r, kdf.p);
  try {
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad(header));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return { ...header, meta: { ...meta }, cipher: { name: 'aes-256-gcm', iv: iv.toString('hex'), tag: c.getAuthTag().toString('hex') }, ciphertext: ct.toString('hex') };
  } finally {
    key.fill(0);
  }
}

/** Parse and validate a sealed file's JSON text; `file` only names it in errors. */
export function parseSealed(text: string, file: string): SealedFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MetanodeError('KEYSTORE', `${file} is not a keystore file (not JSON); it may be truncated or corrupted`);
  }
  const r = sealedSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new MetanodeError('KEYSTORE', `${file} is not a valid keystore file: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  return r.data;
}

/** Decrypt; a wrong passphrase or any tampering gives one KEYSTORE error naming the file. */
export async function unseal(f: SealedFile, passphrase: string, file: string, source?: string): Promise<Buffer> {
  const key = await deriveKey(passphrase, Buffer.from(f.kdf.salt, 'hex'), f.kdf.N, f.kdf.r, f.kdf.p);
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(f.cipher.iv, 'hex'));
    d.setAAD(aad(f));
    d.setAuthTag(Buffer.from(f.cipher.tag, 'hex'));
    return Buffer.concat([d.update(Buffer.from(f.ciphertext, 'hex')), d.final()]);
  } catch {
    throw new MetanodeError('KEYSTORE', `cannot decrypt ${file}${source ? ` with the passphrase from ${source}` : ''}: wrong passphrase, or the file was modified`);
  } finally {
    key.fill(0);
  }
}
