// `metanode init`: the data directory (0700), a config skeleton when there is no config file,
// and the encrypted keystore with the node's identity key. Running it again changes nothing
// (an existing identity is only checked against the passphrase).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config, Network } from '../../config/schema.js';
import { ensureApiToken } from '../../api/auth.js';
import { configSkeleton } from '../../config/skeleton.js';
import { IDENTITY_FILE, openKeystoreFromConfig, obtainPassphrase, writeFileAtomic, type PassphrasePrompt } from '../../keystore/index.js';

export interface InitPlan {
  /** Config file to use; written from the skeleton when it does not exist. */
  configFile: string;
  network: Network;
  /** Absolute data directory for the skeleton. */
  dataDir: string;
  passphraseFile?: string;
}

export interface InitResult {
  peerId: string;
  created: boolean;
  network: string;
  dataDir: string;
  keystoreDir: string;
  identityFile: string;
  configFile: string;
  configCreated: boolean;
  /** Where the passphrase came from (never the passphrase itself). */
  passphraseSource: string;
  /** <dataDir>/api.token (0600): the bearer token the CLI sends with writes. */
  apiTokenFile: string;
}

/** Writes the skeleton config unless the file exists; true when written. */
export function writeConfigSkeleton(plan: InitPlan): boolean {
  if (existsSync(plan.configFile)) return false;
  mkdirSync(dirname(plan.configFile), { recursive: true, mode: 0o700 });
  writeFileAtomic(plan.configFile, configSkeleton({ network: plan.network, dataDir: resolve(plan.dataDir), passphraseFile: plan.passphraseFile }));
  return true;
}

/**
 * Creates the data directory and the identity key for an already-loaded config (the caller wrote
 * the skeleton first if needed). The passphrase comes from the file, credential, environment or
 * `prompt` (asked twice for a new keystore).
 */
export async function initCommand(
  config: Config,
  env: Record<string, string | undefined> = process.env,
  opts: { prompt?: PassphrasePrompt; configFile?: string; configCreated?: boolean } = {},
): Promise<InitResult> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const isNew = !existsSync(resolve(config.keystore.dir, IDENTITY_FILE));
  const pass = await obtainPassphrase(config.keystore, env, opts.prompt, { confirm: isNew });
  const ks = openKeystoreFromConfig(config, env, true, pass);
  const r = await ks.init();
  const token = ensureApiToken(config.dataDir);
  return {
    apiTokenFile: token.file,
    peerId: r.peerId,
    created: r.created,
    network: config.network,
    dataDir: config.dataDir,
    keystoreDir: ks.dir,
    identityFile: r.file,
    configFile: opts.configFile ?? config.source ?? '',
    configCreated: opts.configCreated ?? false,
    passphraseSource: pass.source,
  };
}

export function renderInit(r: InitResult): string {
  const lines = r.created ? [`created identity ${r.peerId}`] : [`identity already exists: ${r.peerId} (unchanged)`];
  lines.push(`data dir: ${r.dataDir}`, `keystore: ${r.keystoreDir} (passphrase from ${r.passphraseSource})`, `api token: ${r.apiTokenFile} (0600; writes to the HTTP API need it)`);
  if (r.configFile) lines.push(`config:   ${r.configFile}${r.configCreated ? ' (written; review it)' : ''}`);
  if (r.created) lines.push('next:     stake for this peer id (`metanode stake --reward <address>`), then `metanode start`');
  return lines.join('\n');
}
