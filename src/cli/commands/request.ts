import type { ApiClient } from '../client.js';
import type { TransferRequestJson } from '../json-types.js';
import { UsageError } from '../exit-codes.js';
import { time, type View } from '../print.js';

export interface RequestOptions {
  /** Sats ("150000", "150000sat") or bitcoin ("0.0015btc"). */
  amount: string;
  payout: string;
  refund: string;
  /** Relative ("24h", "3d", "90m"), unix seconds, or an ISO date; default 24h. */
  expiry?: string;
  /** Unix seconds, for tests. */
  now?: number;
}

export function parseAmount(s: string): bigint {
  const v = s.trim().toLowerCase();
  let m = /^(\d{1,16})(\s*sats?)?$/.exec(v);
  if (m) return BigInt(m[1]!);
  m = /^(\d{1,8})(?:\.(\d{1,8}))?\s*btc$/.exec(v);
  if (m) return BigInt(m[1]!) * 100_000_000n + BigInt((m[2] ?? '').padEnd(8, '0'));
  throw new UsageError(`--amount must be sats (e.g. 150000) or bitcoin (e.g. 0.0015btc), got ${JSON.stringify(s)}`);
}

export function parseExpiry(s: string, nowSec: number): number {
  const v = s.trim();
  const rel = /^(\d{1,6})([mhd])$/.exec(v);
  if (rel) return nowSec + Number(rel[1]) * { m: 60, h: 3600, d: 86400 }[rel[2] as 'm' | 'h' | 'd'];
  if (/^\d{9,11}$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v))) return Math.floor(Date.parse(v) / 1000);
  throw new UsageError(`--expiry must be a duration (24h, 3d, 90m), unix seconds or an ISO date, got ${JSON.stringify(s)}`);
}

/** `metanode request`: submit a transfer request; the reply names the deposit address. */
export async function requestCommand(client: ApiClient, opts: RequestOptions): Promise<TransferRequestJson> {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const amountSats = parseAmount(opts.amount);
  if (amountSats <= 0n) throw new UsageError('--amount must be positive');
  const expiry = parseExpiry(opts.expiry ?? '24h', now);
  if (expiry <= now) throw new UsageError(`--expiry ${time(expiry, true)} is in the past`);
  if (!opts.payout?.trim()) throw new UsageError('--payout <address> is required');
  if (!opts.refund?.trim()) throw new UsageError('--refund <address> is required');
  return client.post<TransferRequestJson>('/v1/transfers', {
    amountSats: amountSats.toString(),
    payoutAddress: opts.payout.trim(),
    refundAddress: opts.refund.trim(),
    expiry,
  });
}

export const requestView: View<TransferRequestJson> = {
  fields: [
    ['request id', (r) => r.id],
    ['deposit', (r) => `send ${r.amountSats} sats to ${r.depositAddress}`],
    ['before', (r) => `${time(r.expiry, true)} (later deposits are refunded to ${r.refundAddress})`],
    ['payout to', (r) => r.payoutAddress],
    ['key epoch', (r) => r.epoch],
    ['accepted by', (r) => r.origin],
  ],
};
