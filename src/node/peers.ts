// The node's view of the staked federation, self included, derived from the peer table (peers
// with a valid stake and a recent ping) and our own stake verdict.
import type { NodeContext } from './context.js';
import type { PeerView } from '../rounds/committee.js';

export interface StakedMember extends PeerView {
  rewardAddress: string;
  tip: number | null;
}

export function stakedMembers(ctx: NodeContext): StakedMember[] {
  const out: StakedMember[] = ctx.network.table.list().map((e) => ({
    peerId: e.peerId,
    stakeHeight: e.seniority.height,
    stakeTxid: e.seniority.txid,
    lastSeenMs: e.lastSeen,
    rewardAddress: e.rewardAddress,
    tip: e.tip,
  }));
  const own = ctx.network.ownStakeVerdict();
  if (own?.valid) {
    out.push({
      peerId: ctx.peerId,
      stakeHeight: own.seniority.height,
      stakeTxid: own.seniority.txid,
      lastSeenMs: ctx.now(),
      rewardAddress: own.rewardAddress,
      tip: ctx.chainView.tip?.height ?? null,
    });
  }
  return out;
}
