// Where the keystore passphrase comes from: a private file (e.g. a systemd credential) or an
// environment variable. Never from the config file itself, never logged.
import { readFileSync } from 'node:fs';
import { MetanodeError } from '../util/errors.js';
import { checkPrivateFile } from './files.js';

export const MIN_PASSPHRASE_LENGTH = 8;

export interface PassphraseSource {
  passphraseFile?: string;
  passphraseEnv?: string;
}

export function resolvePassphrase(src: PassphraseSource, env: Record<string, string | undefined> = process.env): string {
  let pass: string;
  if (src.passphraseFile) {
    try {
      checkPrivateFile(src.passphraseFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MetanodeError('KEYSTORE', `passphrase file ${src.passphraseFile} does not exist`);
      throw e;
    }
    // One trailing newline is what `echo pass > file` adds; it is not part of the passphrase.
    pass = readFileSync(src.passphraseFile, 'utf8').replace(/\r?\n$/, '');
    if (pass.length < MIN_PASSPHRASE_LENGTH)
      throw new MetanodeError('KEYSTORE', `passphrase in ${src.passphraseFile} is shorter than ${MIN_PASSPHRASE_LENGTH} characters`);
  } else {
    const name = src.passphraseEnv || 'METANODE_PASSPHRASE';
    const v = env[name];
    if (v === undefined || v === '')
      throw new MetanodeError('KEYSTORE', `no keystore passphrase: set the environment variable ${name} or keystore.passphraseFile in the config`);
    pass = v;
    if (pass.length < MIN_PASSPHRASE_LENGTH) throw new MetanodeError('KEYSTORE', `passphrase in ${name} is shorter than ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  return pass;
}
