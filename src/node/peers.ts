// The node's view of the staked federation, self included.
//   stakedMembers   the peer table (admitted peers with a recent valid ping): who we talk to and
//                   sign custody rounds with; shaped by the blocklist like all gossip.
//   committeePeers  the stake view (src/p2p/stake-view.ts): every peer whose stake verified here,
//                   with its last valid ping, blocklist ignored. Committees (keygen, regroup) and
//                   the epoch trust rules read only this: a local block never costs a seat.
import type { NodeContext } from './context.js';
import type { PeerView } from '../rounds/committee.js';

export interface StakedMember extends PeerView {
  rewardAddress: string;
  tip: number | null;
}

type SelfView = Pick<NodeContext, 'network' | 'peerId' | 'now' | 'chainView'>;

function self(ctx: SelfView): StakedMember[] {
  const own = ctx.network.ownStakeVerdict();
  if (!own?.valid) return [];
  return [{ peerId: ctx.peerId, stakeHeight: own.seniority.height, stakeTxid: own.seniority.txid, lastSeenMs: ctx.now(), rewardAddress: own.rewardAddress, tip: ctx.chainView.tip?.height ?? null }];
}

export function stakedMembers(ctx: SelfView): StakedMember[] {
  const out: StakedMember[] = ctx.network.table.list().map((e) => ({
    peerId: e.peerId,
    stakeHeight: e.seniority.height,
    stakeTxid: e.seniority.txid,
    lastSeenMs: e.lastSeen,
    rewardAddress: e.rewardAddress,
    tip: e.tip,
  }));
  return [...out, ...self(ctx)];
}

export function committeePeers(ctx: SelfView): StakedMember[] {
  const out: StakedMember[] = ctx.network.stakeView
    .list()
    .filter((e) => e.peerId !== ctx.peerId)
    .map((e) => ({ peerId: e.peerId, stakeHeight: e.seniority.height, stakeTxid: e.seniority.txid, lastSeenMs: e.lastSeen, rewardAddress: e.rewardAddress, tip: e.tip }));
  return [...out, ...self(ctx)];
}
