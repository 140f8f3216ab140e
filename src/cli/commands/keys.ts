// `metanode keys`: the public key material of the vault key in force, for scripts and for the
// operator; no passphrase needed. The table adds this node's own identity from the keystore.
import type { Config } from '../../config/schema.js';
import { inspectKeystore } from '../../keystore/index.js';
import { errorMessage } from '../../util/errors.js';
import type { ApiClient } from '../client.js';
import type { EpochJson } from '../json-types.js';
import { fetchEpochEntries } from './epochs.js';

/** `metanode keys --json`. All null (committee empty) before the first key exists. */
export interface KeysJson {
  epoch: number | null;
  /** FROST group key: the Taproot output key Q (x-only hex) that signs. */
  groupKey: string | null;
  /** Taproot internal key P (x-only hex). */
  internalKey: string | null;
  vaultAddress: string | null;
  threshold: number | null;
  /** Committee peer ids in seniority order. */
  committee: string[];
}

/** This node's own key facts, shown in the table only. */
export interface LocalKeys {
  peerId: string | null;
  keystoreDir: string;
  shareEpochs: number[];
  error?: string;
}

export const NO_KEYS: KeysJson = { epoch: null, groupKey: null, internalKey: null, vaultAddress: null, threshold: null, committee: [] };

/** The active epoch's entry, else the highest one. */
export function keysFromEpochs(epochs: EpochJson[]): KeysJson {
  const e = epochs.find((x) => x.active) ?? [...epochs].sort((a, b) => b.record.epoch - a.record.epoch)[0];
  if (!e) return { ...NO_KEYS, committee: [] };
  return {
    epoch: e.record.epoch,
    groupKey: e.key.outputKey,
    internalKey: e.key.internalKey,
    vaultAddress: e.vaultAddress,
    threshold: e.key.threshold,
    committee: e.key.committee.map((m) => m.peerId),
  };
}

export async function keysCommand(client: ApiClient): Promise<KeysJson> {
  return keysFromEpochs(await fetchEpochEntries(client));
}

export function localKeys(config: Config): LocalKeys {
  try {
    const info = inspectKeystore(config.keystore.dir);
    return { peerId: info.peerId, keystoreDir: info.dir, shareEpochs: info.shareEpochs };
  } catch (e) {
    return { peerId: null, keystoreDir: config.keystore.dir, shareEpochs: [], error: errorMessage(e) };
  }
}

export function renderKeys(k: KeysJson, local?: LocalKeys): string {
  const lines = [
    `epoch:         ${k.epoch ?? '(no key yet)'}`,
    `group key:     ${k.groupKey ?? '-'}`,
    `internal key:  ${k.internalKey ?? '-'}`,
    `vault address: ${k.vaultAddress ?? '-'}`,
    `threshold:     ${k.threshold === null ? '-' : `${k.threshold} of ${k.committee.length}`}`,
    `committee:     ${k.committee.length ? k.committee.join('\n               ') : '-'}`,
  ];
  if (local) {
    const member = local.peerId !== null && k.committee.includes(local.peerId);
    lines.push(
      '',
      `this node:     ${local.peerId ?? `(no identity${local.error ? `: ${local.error}` : '; run `metanode init`'})`}${local.peerId && k.epoch !== null ? (member ? ' (committee member)' : ' (not in the committee)') : ''}`,
      `keystore:      ${local.keystoreDir}`,
      `shares:        ${local.shareEpochs.length ? local.shareEpochs.map((e) => `epoch ${e}`).join(', ') : '(none)'}`,
    );
  }
  return lines.join('\n');
}
