// Where the keystore passphrase comes from, first match wins:
//   1. keystore.passphraseFile (config or --passphrase-file): a private file;
//   2. a systemd credential: $CREDENTIALS_DIRECTORY/passphrase (LoadCredential=passphrase:...);
//   3. the environment variable keystore.passphraseEnv (default METANODE_PASSPHRASE);
//   4. a prompt on the terminal (interactive commands only).
// Never from the config file itself, never logged. Errors name the source, so an operator can
// tell a wrong passphrase in the credential from one in the environment.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetanodeError } from '../util/errors.js';
import { checkPrivateFile } from './files.js';

export const MIN_PASSPHRASE_LENGTH = 8;
/** File name of the credential inside $CREDENTIALS_DIRECTORY (LoadCredential=passphrase:/path). */
export const CREDENTIAL_NAME = 'passphrase';

export interface PassphraseSource {
  passphraseFile?: string;
  passphraseEnv?: string;
}

export interface ResolvedPassphrase {
  passphrase: string;
  /** Human-readable origin for messages, e.g. "the environment variable METANODE_PASSPHRASE". */
  source: string;
}

/** Asks for a passphrase without echoing it; `confirm` asks twice (new keystores). */
export type PassphrasePrompt = (question: string) => Promise<string>;

function readPassFile(file: string, what: string): string {
  try {
    checkPrivateFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MetanodeError('KEYSTORE', `${what} ${file} does not exist`);
    throw e;
  }
  // One trailing newline is what `echo pass > file` adds; it is not part of the passphrase.
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

function checkLength(pass: string, source: string): void {
  if (pass.length < MIN_PASSPHRASE_LENGTH) throw new MetanodeError('KEYSTORE', `passphrase in ${source} is shorter than ${MIN_PASSPHRASE_LENGTH} characters`);
}

/** File, credential or environment; null when none of them holds a passphrase. */
export function findPassphrase(src: PassphraseSource, env: Record<string, string | undefined> = process.env): ResolvedPassphrase | null {
  if (src.passphraseFile) {
    const pass = readPassFile(src.passphraseFile, 'passphrase file');
    const source = `the passphrase file ${src.passphraseFile}`;
    checkLength(pass, source);
    return { passphrase: pass, source };
  }
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (credDir && existsSync(join(credDir, CREDENTIAL_NAME))) {
    const file = join(credDir, CREDENTIAL_NAME);
    const pass = readPassFile(file, 'systemd credential');
    const source = `the systemd credential ${file}`;
    checkLength(pass, source);
    return { passphrase: pass, source };
  }
  const name = src.passphraseEnv || 'METANODE_PASSPHRASE';
  const v = env[name];
  if (v === undefined || v === '') return null;
  const source = `the environment variable ${name}`;
  checkLength(v, source);
  return { passphrase: v, source };
}

function missing(src: PassphraseSource): MetanodeError {
  const name = src.passphraseEnv || 'METANODE_PASSPHRASE';
  return new MetanodeError(
    'KEYSTORE',
    `no keystore passphrase: set the environment variable ${name}, keystore.passphraseFile in the config (or --passphrase-file), or a systemd credential named ${CREDENTIAL_NAME}`,
  );
}

/** File, credential or environment, or a KEYSTORE error naming every place it looked. */
export function resolvePassphraseWithSource(src: PassphraseSource, env: Record<string, string | undefined> = process.env): ResolvedPassphrase {
  const r = findPassphrase(src, env);
  if (!r) throw missing(src);
  return r;
}

export function resolvePassphrase(src: PassphraseSource, env: Record<string, string | undefined> = process.env): string {
  return resolvePassphraseWithSource(src, env).passphrase;
}

/** As resolvePassphraseWithSource, falling back to `prompt` (asked twice when `confirm`). */
export async function obtainPassphrase(
  src: PassphraseSource,
  env: Record<string, string | undefined>,
  prompt: PassphrasePrompt | undefined,
  opts: { confirm?: boolean } = {},
): Promise<ResolvedPassphrase> {
  const found = findPassphrase(src, env);
  if (found) return found;
  if (!prompt) throw missing(src);
  const pass = await prompt(opts.confirm ? 'New keystore passphrase: ' : 'Keystore passphrase: ');
  checkLength(pass, 'the prompt');
  if (opts.confirm && (await prompt('Repeat the passphrase: ')) !== pass) throw new MetanodeError('KEYSTORE', 'the two passphrases differ');
  return { passphrase: pass, source: 'the prompt' };
}
