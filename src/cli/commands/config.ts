// `metanode config check` and `metanode config show`: the effective config (file, environment
// overrides and flags, defaults filled in), validated, with secrets redacted; check adds what an
// operator would want to know before `start` (keystore readable and private, stake configured,
// peers to bootstrap from, doppelganger protection on).
import YAML from 'yaml';
import type { Config } from '../../config/schema.js';
import { inspectKeystore } from '../../keystore/index.js';
import { redactSecrets, CENSOR } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';

/** A JSON-safe copy: bigints as decimal strings, dates as ISO strings, secrets and URL passwords redacted. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const plain = JSON.parse(
    JSON.stringify(config, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    (_k, v) => (typeof v === 'string' ? v.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^@/\s]*@/i, `$1:${CENSOR}@`) : v),
  ) as Record<string, unknown>;
  return redactSecrets(plain) as Record<string, unknown>;
}

export interface ConfigCheck {
  ok: boolean;
  /** The config file read, or null when only defaults and the environment apply. */
  file: string | null;
  /** Problems that stop `start` (the keystore cannot be used). */
  errors: string[];
  /** Things that work but an operator should know. */
  warnings: string[];
  peerId: string | null;
}

export function configCheck(config: Config, file: string | null): ConfigCheck {
  const errors: string[] = [];
  const warnings: string[] = [];
  let peerId: string | null = null;
  try {
    peerId = inspectKeystore(config.keystore.dir).peerId;
    if (!peerId) errors.push(`no identity key in ${config.keystore.dir}: run \`metanode init\``);
  } catch (e) {
    errors.push(errorMessage(e));
  }
  if (config.stake.txid === undefined) warnings.push('no stake configured (stake.txid, stake.vout): peers will not admit this node; `metanode stake --reward <address>` shows how');
  if (config.p2p.bootstrap.length === 0) warnings.push('p2p.bootstrap is empty: this node can only be found by peers that know its address');
  if (config.custody.rewardSats !== undefined) warnings.push('custody.rewardSats is deprecated and ignored: rewards come from the transfer fees and are paid once custody.rewardMinPayoutSats accrued');
  if (config.p2p.doppelgangerIntervals === 0) warnings.push('p2p.doppelgangerIntervals is 0: a second instance with this identity would not be detected before signing');
  if (config.chain.source === 'bitcoind' && config.chain.bitcoind.password !== undefined) warnings.push('chain.bitcoind.password is in the config file; a cookieFile keeps it out');
  return { ok: errors.length === 0, file, errors, warnings, peerId };
}

export function renderConfigCheck(c: ConfigCheck): string {
  return [
    `config:   ${c.file ?? '(no file: defaults and environment)'}`,
    `peer id:  ${c.peerId ?? '-'}`,
    `result:   ${c.ok ? 'ok' : 'NOT USABLE'}`,
    ...c.errors.map((e) => `error:    ${e}`),
    ...c.warnings.map((w) => `warning:  ${w}`),
  ].join('\n');
}

export function renderConfigShow(c: Record<string, unknown>): string {
  return YAML.stringify(c).trimEnd();
}
