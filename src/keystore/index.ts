export { Keystore, inspectKeystore, IDENTITY_FILE, shareFileName } from './keystore.js';
export type { KeystoreOptions, KeystoreInfo, InitResult } from './keystore.js';
export { resolvePassphrase, MIN_PASSPHRASE_LENGTH } from './passphrase.js';
export type { PassphraseSource } from './passphrase.js';
export { writeFileAtomic, destroyFile, checkPrivateFile, ensurePrivateDir } from './files.js';
export { FORMAT as KEYSTORE_FORMAT, VERSION as KEYSTORE_VERSION } from './sealed.js';

import type { Config } from '../config/schema.js';
import { Keystore } from './keystore.js';
import { resolvePassphrase } from './passphrase.js';

/** Open the keystore a config describes, reading the passphrase from its file or env var. */
export function openKeystoreFromConfig(config: Config, env: Record<string, string | undefined> = process.env, create = true): Keystore {
  const passphrase = resolvePassphrase(config.keystore, env);
  return Keystore.open({ dir: config.keystore.dir, passphrase, scryptN: config.keystore.scryptN, create });
}
