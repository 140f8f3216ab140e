import type { ApiClient } from '../client.js';
import type { StatusJson } from '../json-types.js';
import { time, type View } from '../print.js';

/** `metanode status`: the node's own view of itself. */
export async function statusCommand(client: ApiClient): Promise<StatusJson> {
  return client.get<StatusJson>('/v1/status');
}

export const statusView: View<StatusJson> = {
  fields: [
    ['peer id', (s) => s.peerId],
    ['network', (s) => s.network],
    ['version', (s) => s.version],
    ['started', (s) => (s.running ? `${time(s.startedAt)} (up ${s.uptimeSec} s)` : 'not running (read from the data directory)')],
    ['state', (s) => s.state],
    ['epoch', (s) => s.epoch],
    ['vault', (s) => s.vaultAddress],
    ['threshold', (s) => (s.threshold === null ? null : `${s.threshold} of ${s.committeeSize ?? '?'}`)],
    ['chain', (s) => `${s.chain.source} ${s.chain.reachable ? 'reachable' : s.running ? 'UNREACHABLE' : 'not checked'}, tip ${s.chain.tipHeight ?? '-'}${s.chain.tipTime ? ` at ${time(s.chain.tipTime, true)}` : ''}`],
    ['peers', (s) => `${s.peers.connected} connected, ${s.peers.admitted} admitted, ${s.peers.staked} staked, ${s.peers.blocked} blocked`],
    ['stake', (s) => (s.stake ? `${s.stake.txid}:${s.stake.vout} ${s.stake.valid ? 'valid' : `INVALID${s.stake.reason ? ` (${s.stake.reason})` : ''}`}` : 'not configured')],
    ['round', (s) => (s.currentRound ? `${s.currentRound.roundId} ${s.currentRound.status}` : null)],
    ['clock skew', (s) => (s.clockSkewMs === null ? null : `${s.clockSkewMs} ms`)],
  ],
};
