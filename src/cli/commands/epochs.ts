// `metanode epochs`: the signed epoch records a node holds, with their key material, validated
// against the /v1/epochs schema before anything is shown.
import { EpochsViewResponseSchema } from '../../api/epochs-schema.js';
import { MetanodeError } from '../../util/errors.js';
import type { ApiClient } from '../client.js';
import type { EpochJson } from '../json-types.js';
import type { View } from '../print.js';

/** Parses a /v1/epochs body; a malformed answer is NODE_ERROR naming the first fields at fault. */
export function parseEpochsResponse(body: unknown, source: string): EpochJson[] {
  const parsed = EpochsViewResponseSchema.safeParse(body);
  if (!parsed.success) {
    const why = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      .join('; ');
    throw new MetanodeError('NODE_ERROR', `${source} served a malformed /v1/epochs response: ${why}`);
  }
  return parsed.data.epochs;
}

export async function fetchEpochEntries(client: ApiClient, source = 'the node'): Promise<EpochJson[]> {
  return parseEpochsResponse(await client.get<unknown>('/v1/epochs'), source);
}

/** `metanode epochs`: the public records of the vault keys. */
export async function epochsCommand(client: ApiClient): Promise<EpochJson[]> {
  return fetchEpochEntries(client);
}

export const epochsView: View<EpochJson> = {
  empty: '(no key epochs yet)',
  columns: [
    { header: 'EPOCH', get: (e) => e.record.epoch, align: 'right' },
    { header: 'KIND', get: (e) => e.record.kind },
    { header: 'STATUS', get: (e) => e.status },
    { header: 'ACTIVE', get: (e) => (e.active ? '*' : '') },
    { header: 'THRESHOLD', get: (e) => `${e.record.threshold}/${e.record.committee.length}` },
    { header: 'SIGS', get: (e) => `${e.signatures.length}/${e.record.committee.length}`, align: 'right' },
    { header: 'VAULT', get: (e) => e.vaultAddress },
  ],
};
