export { Keystore, inspectKeystore, listKeyFiles, IDENTITY_FILE, shareFileName } from './keystore.js';
export type { KeystoreOptions, KeystoreInfo, InitResult } from './keystore.js';
export { resolvePassphrase, resolvePassphraseWithSource, findPassphrase, obtainPassphrase, MIN_PASSPHRASE_LENGTH, CREDENTIAL_NAME } from './passphrase.js';
export type { PassphraseSource, ResolvedPassphrase, PassphrasePrompt } from './passphrase.js';
export { writeFileAtomic, destroyFile, checkPrivateFile, ensurePrivateDir } from './files.js';
export { FORMAT as KEYSTORE_FORMAT, VERSION as KEYSTORE_VERSION } from './sealed.js';

import type { Config } from '../config/schema.js';
import { Keystore } from './keystore.js';
import { resolvePassphraseWithSource, type ResolvedPassphrase } from './passphrase.js';

/**
 * Open the keystore a config describes. The passphrase is `given` (e.g. prompted by the CLI), or
 * read from the passphrase file, the systemd credential or the environment variable.
 */
export function openKeystoreFromConfig(config: Config, env: Record<string, string | undefined> = process.env, create = true, given?: ResolvedPassphrase): Keystore {
  const { passphrase, source } = given ?? resolvePassphraseWithSource(config.keystore, env);
  return Keystore.open({ dir: config.keystore.dir, passphrase, passphraseSource: source, scryptN: config.keystore.scryptN, create });
}
