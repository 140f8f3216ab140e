// The node's answers to the HTTP API (src/api): plain data read from the stores and the network.
import type { NodeApi, NodeStatus, PeerView, TransferView, DepositView, HealthInputs } from '../api/types.js';
import { depositViews, epochsView, peerViews, roundView, roundsView, transferViews } from './views.js';
import { MetanodeError } from '../util/errors.js';
import { rewardsView } from './rewards.js';
import { faultTolerance } from '../p2p/connections.js';
import type { NodeContext } from './context.js';
import type { SigningRunner } from './signing-runner.js';

export interface NodeApiDeps {
  ctx: NodeContext;
  signing: SigningRunner;
  startedAt: number;
  version: string;
  isStarting(): boolean;
  /** Doppelganger window after start. */
  isListening(): boolean;
  /** The share of the current epoch is loaded. */
  shareHeld(): boolean;
}

/** The chain source must have answered within this many poll intervals (and at least 10 s). */
export const CHAIN_FRESH_POLLS = 3;

/** More than half of the admitted peers announce a tip above ours + 1. */
function tipBehind(own: number | undefined, peerTips: number[]): boolean {
  if (own === undefined || peerTips.length === 0) return false;
  return peerTips.filter((t) => t > own + 1).length * 2 > peerTips.length;
}

export function createNodeApi(d: NodeApiDeps): NodeApi {
  const { ctx } = d;
  return {
    health(): HealthInputs {
      const skew = ctx.network.clockSkewStatus();
      const conn = ctx.network.connectionStatus();
      const own = ctx.network.ownStakeVerdict();
      const staked = ctx.network.table.size + (own?.valid ? 1 : 0);
      const peers = ctx.network.table.list();
      const cur = ctx.manager.current();
      const mine = ctx.manager.store.maxEpoch();
      const committee = cur?.record.committee;
      const stake = ctx.config.stake;
      return {
        starting: d.isStarting(),
        listening: d.isListening(),
        chain: {
          reachable: ctx.chainView.reachable,
          ...(ctx.chainView.error ? { error: ctx.chainView.error } : {}),
          lastAnswerAgeMs: ctx.chainView.answeredAt === undefined ? null : ctx.now() - ctx.chainView.answeredAt,
          freshnessMs: Math.max(10_000, CHAIN_FRESH_POLLS * ctx.config.chain.pollMs),
          behind: tipBehind(ctx.chainView.tip?.height, peers.map((p) => p.tip)),
        },
        clock: { skewMs: skew.peers > 0 ? skew.ownOffsetMs : null },
        stake: {
          configured: stake.txid !== undefined,
          valid: own?.valid === true,
          ...(own && !own.valid ? { reason: `${own.reason}: ${own.detail}` } : own ? {} : { reason: 'not verified yet' }),
        },
        committee: committee ? { size: committee.length, member: committee.some((m) => m.peerId === ctx.peerId), shareHeld: d.shareHeld() } : null,
        epochsBehind: peers.filter((p) => p.epoch > mine).length >= faultTolerance(committee?.length ?? peers.length + 1) + 1,
        peers: {
          connectedStaked: conn?.connectedStaked ?? 0,
          federationSize: Math.max(1, staked),
          inBootstrapGrace: ctx.now() - d.startedAt < ctx.config.p2p.bootstrapGraceMs,
        },
      };
    },

    status(): NodeStatus {
      const cur = ctx.manager.current();
      const own = ctx.network.ownStakeVerdict();
      const round = d.signing.current;
      const stake = ctx.config.stake;
      return {
        peerId: ctx.peerId,
        network: ctx.config.network,
        version: d.version,
        running: true,
        startedAt: d.startedAt,
        uptimeSec: Math.floor((ctx.now() - d.startedAt) / 1000),
        state: ctx.activity.state,
        epoch: cur?.record.epoch ?? null,
        vaultAddress: cur?.record.vaultAddress ?? null,
        threshold: cur?.record.threshold ?? null,
        committeeSize: cur?.record.committee.length ?? null,
        chain: {
          source: ctx.config.chain.source,
          reachable: ctx.chainView.reachable,
          tipHeight: ctx.chainView.tip?.height ?? null,
          tipTime: ctx.chainView.tip?.time ?? null,
        },
        peers: {
          connected: ctx.network.connectedPeers().length,
          admitted: ctx.network.table.size,
          staked: ctx.network.table.size + (own?.valid ? 1 : 0),
          blocked: ctx.network.blocklist.list().length,
        },
        stake:
          stake.txid !== undefined && stake.vout !== undefined
            ? { txid: stake.txid, vout: stake.vout, valid: own?.valid === true, ...(own && !own.valid ? { reason: `${own.reason}: ${own.detail}` } : {}) }
            : null,
        currentRound: round ? { roundId: round.state.cfg.roundId, status: round.state.phase } : null,
        clockSkewMs: ctx.network.clockSkewStatus().ownOffsetMs ?? null,
      };
    },

    peers(): PeerView[] {
      return peerViews({ table: ctx.network.table.list(), blocked: ctx.network.blocklist.list(), connected: ctx.network.connectedPeers() });
    },

    rounds: (q) => roundsView(ctx.db, q),
    round: (id) => roundView(ctx.db, id),
    transfers: (q): TransferView[] => transferViews(ctx.db, ctx.requests.newestFirst(), ctx.now(), q, { finalityDepth: ctx.config.custody.finalityDepth }),
    deposits: (q): DepositView[] => depositViews(ctx.deposits.list(), q),
    epochs: () => epochsView(ctx.manager.store),
    rewards: () => rewardsView(ctx),

    async submitRequest(req) {
      if (!ctx.manager.current()) throw new MetanodeError('INVALID_INPUT', 'no vault key yet: keygen has not completed');
      return ctx.requests.create({ amountSats: req.amountSats, payoutAddress: req.payoutAddress, refundAddress: req.refundAddress, expiry: req.expiry });
    },

    unblockPeer(peerId) {
      const removed = ctx.network.blocklist.get(peerId) ?? null;
      ctx.network.blocklist.unblock(peerId);
      // An operator's decision: on the record, with what it overrode.
      if (removed) ctx.log.warn({ peer: peerId, reason: removed.reason, detail: removed.detail, until: removed.until }, 'peer unblocked by the operator');
      return { peerId, removed };
    },
  };
}
