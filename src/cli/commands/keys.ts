import type { Config } from '../../config/schema.js';
import { inspectKeystore } from '../../keystore/index.js';
import { errorMessage } from '../../util/errors.js';
import type { ApiClient } from '../client.js';
import { fetchEpochEntries } from './epochs.js';
import { identifierOf } from '../../crypto/identifiers.js';

export interface KeysResult {
  peerId: string | null;
  keystoreDir: string;
  /** Epochs with an encrypted share on disk. */
  shareEpochs: number[];
  /**
   * Public key of each epoch from the node API, with this node's FROST identifier (its position in
   * that epoch's committee, so it can change between epochs) and verifying share; null if unreachable.
   */
  epochs: Array<{ epoch: number; active: boolean; outputKey: string; internalKey: string; vaultAddress: string; threshold: number; member: boolean; identifier: string | null; verifyingShare: string | null; shareOnDisk: boolean }> | null;
  apiError?: string;
}

/** `metanode keys`: public key material only; needs no passphrase. */
export async function keysCommand(config: Config, client?: ApiClient): Promise<KeysResult> {
  const info = inspectKeystore(config.keystore.dir);
  const out: KeysResult = { peerId: info.peerId, keystoreDir: info.dir, shareEpochs: info.shareEpochs, epochs: null };
  if (client) {
    try {
      const epochs = await fetchEpochEntries(client);
      out.epochs = epochs.map(({ record, key, active, vaultAddress }) => {
        const identifier = info.peerId ? (identifierOf(key.committee, info.peerId) ?? null) : null;
        return {
          epoch: record.epoch,
          active,
          outputKey: key.outputKey,
          internalKey: key.internalKey,
          vaultAddress,
          threshold: key.threshold,
          member: identifier !== null,
          identifier,
          verifyingShare: identifier !== null ? (key.verifyingShares[identifier] ?? null) : null,
          shareOnDisk: info.shareEpochs.includes(record.epoch),
        };
      });
    } catch (e) {
      out.apiError = errorMessage(e);
    }
  }
  return out;
}

export function renderKeys(k: KeysResult, render: (d: unknown) => string): string {
  const lines = [
    `peer id:     ${k.peerId ?? '(none; run `metanode init`)'}`,
    `keystore:    ${k.keystoreDir}`,
    `shares:      ${k.shareEpochs.length ? k.shareEpochs.map((e) => `epoch ${e}`).join(', ') : '(none)'}`,
  ];
  if (k.epochs) lines.push('', render(k.epochs));
  else if (k.apiError) lines.push('', `epoch keys unavailable: ${k.apiError}`);
  return lines.join('\n');
}
