import type { ApiClient } from '../client.js';
import type { PeerJson } from '../json-types.js';
import { short, time, type View } from '../print.js';

/** `metanode peers`: the peer table, seniority order first. */
export async function peersCommand(client: ApiClient): Promise<PeerJson[]> {
  const peers = await client.get<PeerJson[]>('/v1/peers');
  return [...peers].sort((a, b) => (a.seniority ?? Infinity) - (b.seniority ?? Infinity) || a.peerId.localeCompare(b.peerId));
}

export const peersView: View<PeerJson> = {
  empty: '(no peers)',
  columns: [
    { header: 'PEER', get: (p) => p.peerId },
    { header: 'SEN', get: (p) => p.seniority, align: 'right' },
    { header: 'CONN', get: (p) => (p.connected ? 'yes' : 'no') },
    { header: 'ADMITTED', get: (p) => (p.admitted ? 'yes' : 'no') },
    { header: 'STAKE', get: (p) => (p.stake ? `${short(p.stake.txid)}:${p.stake.vout} ${p.stake.valueSats} sat @${p.stake.height}` : null) },
    { header: 'STATE', get: (p) => p.state },
    { header: 'TIP', get: (p) => p.tipHeight, align: 'right' },
    { header: 'LAST PING', get: (p) => time(p.lastPingAt) },
    { header: 'BLOCKED UNTIL', get: (p) => (p.blockedUntil ? time(p.blockedUntil) : null) },
  ],
};
