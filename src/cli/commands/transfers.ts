import type { ApiClient } from '../client.js';
import type { DepositJson, TransferJson } from '../json-types.js';
import { time, type View } from '../print.js';

export interface ListOptions {
  limit?: number;
  state?: string;
}

/** `metanode transfers`: transfer requests and how far each got (--json: with each change of state and its block). */
export async function transfersCommand(client: ApiClient, opts: ListOptions = {}): Promise<TransferJson[]> {
  return client.get<TransferJson[]>('/v1/transfers', { limit: opts.limit, state: opts.state });
}

/** `metanode deposits`: deposits seen at request addresses. */
export async function depositsCommand(client: ApiClient, opts: ListOptions = {}): Promise<DepositJson[]> {
  return client.get<DepositJson[]>('/v1/deposits', { limit: opts.limit, state: opts.state });
}

export const transfersView: View<TransferJson> = {
  empty: '(no transfer requests)',
  columns: [
    { header: 'ID', get: (t) => t.request.id },
    { header: 'AMOUNT', get: (t) => t.request.amountSats, align: 'right' },
    { header: 'PAYOUT', get: (t) => t.request.payoutAddress },
    { header: 'DEPOSIT TO', get: (t) => t.request.depositAddress },
    { header: 'EXPIRY', get: (t) => time(t.request.expiry, true) },
    { header: 'STATE', get: transferState },
    { header: 'TXID', get: (t) => t.txid },
    { header: 'BLOCK', get: (t) => t.blockHash },
  ],
};

/** 'confirmed 2/6' while below finality depth; otherwise the state itself. */
export function transferState(t: Pick<TransferJson, 'state' | 'confirmations' | 'finalityDepth'>): string {
  return t.state === 'confirmed' && t.confirmations !== null ? `confirmed ${t.confirmations}/${t.finalityDepth}` : t.state;
}

export const depositsView: View<DepositJson> = {
  empty: '(no deposits)',
  columns: [
    { header: 'OUTPOINT', get: (d) => `${d.txid}:${d.vout}` },
    { header: 'VALUE', get: (d) => d.valueSats, align: 'right' },
    { header: 'ADDRESS', get: (d) => d.address },
    { header: 'REQUEST', get: (d) => d.requestId },
    { header: 'CONF', get: (d) => d.confirmations, align: 'right' },
    { header: 'STATE', get: (d) => d.state },
  ],
};
