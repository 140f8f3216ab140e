import type { ApiClient } from '../client.js';
import type { EpochJson } from '../json-types.js';
import { time, type View } from '../print.js';

/** `metanode epochs`: the public records of the vault keys. */
export async function epochsCommand(client: ApiClient): Promise<EpochJson[]> {
  return client.get<EpochJson[]>('/v1/epochs');
}

export const epochsView: View<EpochJson> = {
  empty: '(no key epochs yet)',
  columns: [
    { header: 'EPOCH', get: (e) => e.epoch, align: 'right' },
    { header: 'ACTIVE', get: (e) => (e.active ? '*' : '') },
    { header: 'THRESHOLD', get: (e) => `${e.threshold}/${e.committee.length}` },
    { header: 'OUTPUT KEY', get: (e) => e.outputKey },
    { header: 'VAULT', get: (e) => e.vaultAddress },
    { header: 'CREATED', get: (e) => time(e.createdAt) },
  ],
};
