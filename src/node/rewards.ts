// The node's side of the reward ledger (src/custody/rewards.ts): where it reads committees (the
// adopted epoch records), reward addresses (the stakes, self included; leavers: the records) and
// input values (the deposit watcher), and the view `metanode rewards` prints.
import { addressToScript } from '../chain/network.js';
import { rewardBalances, reconcileRewards, type RewardSource } from '../custody/rewards.js';
import { leaverAddresses } from '../custody/leavers.js';
import type { RewardsView } from '../api/types.js';
import { errorMessage } from '../util/errors.js';
import type { NodeContext } from './context.js';
import { committeePeers } from './peers.js';

type Ctx = Pick<NodeContext, 'config' | 'manager' | 'network' | 'peerId' | 'now' | 'chainView' | 'deposits' | 'db' | 'log'>;

export function nodeRewardSource(ctx: Ctx): RewardSource {
  let scripts: Map<string, string> | null = null;
  return {
    transferFee: ctx.config.custody.transferFeeSats,
    committee: (epoch) => ctx.manager.store.get(epoch)?.record.committee.map((m) => m.peerId) ?? null,
    rewardScript: (peerId) => {
      // One snapshot of the stakes per source: one analysis reads them all consistently. The stake
      // view (blocklist ignored) first, then the peer table (kept in SQLite across restarts).
      scripts ??= new Map(
        [...ctx.network.table.list(), ...committeePeers(ctx)].flatMap((p) => {
          try {
            return [[p.peerId, addressToScript(p.rewardAddress, ctx.config.network)] as const];
          } catch {
            return [];
          }
        }),
      );
      return scripts.get(peerId) ?? null;
    },
    inputValue: (o) => ctx.deposits.valueOf(o.txid, o.vout),
    leavers: (epoch) => {
      const a = nodeLeavers(ctx, epoch);
      if (a === null) return null;
      const out = new Map<string, string>();
      // The record schema checked every address for the network; one that still fails pays nobody.
      for (const [p, addr] of a) {
        try {
          out.set(p, addressToScript(addr, ctx.config.network));
        } catch {
          // left out
        }
      }
      return out;
    },
  };
}

/** Leavers of `epoch` and their reward addresses, from the epoch records this node holds (src/custody/leavers.ts). */
export function nodeLeavers(ctx: Pick<NodeContext, 'manager'>, epoch: number): Map<string, string> | null {
  return leaverAddresses(epoch, (e) => ctx.manager.store.get(e)?.record ?? null);
}

/** Derives what is missing from the ledger; failures are logged, never thrown (the chain bookkeeping stands). */
export function reconcileNodeRewards(ctx: Ctx): void {
  try {
    const waiting = reconcileRewards(ctx.db, nodeRewardSource(ctx));
    if (waiting.length) ctx.log.debug({ waiting }, 'rewards of some custody txs cannot be derived yet');
  } catch (e) {
    ctx.log.warn({ err: errorMessage(e) }, 'reward ledger reconcile failed');
  }
}

/** GET /v1/rewards: per peer accrued, paid (in blocks and in flight) and balance. */
export function rewardsView(ctx: Ctx): RewardsView {
  const min = ctx.config.custody.rewardMinPayoutSats;
  const b = rewardBalances(ctx.db, nodeRewardSource(ctx));
  return {
    minPayoutSats: min.toString(),
    transferFeeSats: ctx.config.custody.transferFeeSats.toString(),
    complete: b.complete,
    waiting: b.waiting,
    totals: { transfers: b.totals.transfers, minerFeesSats: b.totals.fees.toString(), poolSats: b.totals.pool.toString(), remainderSats: b.totals.remainder.toString() },
    peers: b.peers.map((p) => ({
      peerId: p.peerId, accruedSats: p.accrued.toString(), paidSats: p.paid.toString(), inFlightSats: p.inFlight.toString(), balanceSats: p.balance.toString(), due: p.balance >= min,
    })),
  };
}
