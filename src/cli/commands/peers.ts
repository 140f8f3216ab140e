import type { ApiClient } from '../client.js';
import type { PeerJson } from '../json-types.js';
import { short, time, type View } from '../print.js';

/** One row of `metanode peers --json` (the shape scripts rely on). */
export interface PeerRow {
  peerId: string;
  state: string;
  seniority: number | null;
  /** Unix ms of the last valid ping, null when never seen. */
  lastSeen: number | null;
  /** outpoint "txid:vout"; sats as a decimal string; why it does not count when not valid. */
  stake: { outpoint: string | null; sats: string | null; valid: boolean; reason: string | null };
}

export function toPeerRow(p: PeerJson): PeerRow {
  return {
    peerId: p.peerId,
    state: p.state,
    seniority: p.seniority,
    lastSeen: p.lastSeen,
    stake: { outpoint: p.stake.outpoint, sats: p.stake.sats, valid: p.stake.valid, reason: p.stake.reason },
  };
}

/** `metanode peers`: every known peer, seniority order first, then by peer id. */
export async function peersCommand(client: ApiClient): Promise<PeerRow[]> {
  const peers = await client.get<PeerJson[]>('/v1/peers');
  return peers.map(toPeerRow).sort((a, b) => (a.seniority ?? Infinity) - (b.seniority ?? Infinity) || a.peerId.localeCompare(b.peerId));
}

export const peersView: View<PeerRow> = {
  empty: '(no peers)',
  columns: [
    { header: 'PEER', get: (p) => p.peerId },
    { header: 'STATE', get: (p) => p.state },
    { header: 'SEN', get: (p) => p.seniority, align: 'right' },
    { header: 'LAST SEEN', get: (p) => time(p.lastSeen) },
    { header: 'STAKE', get: (p) => (p.stake.outpoint ? short(p.stake.outpoint, 8) : null) },
    { header: 'SATS', get: (p) => p.stake.sats, align: 'right' },
    { header: 'VALID', get: (p) => (p.stake.valid ? 'yes' : 'no') },
    { header: 'REASON', get: (p) => p.stake.reason },
  ],
};
