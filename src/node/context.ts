// What the node's runners share: the opened stores, the network, the chain view and config.
// Plain references, no behaviour: the runners own their own logic.
import type { PrivateKey } from '@libp2p/interface';
import type { Config } from '../config/schema.js';
import type { ChainSource, Tip } from '../chain/types.js';
import type { Db } from '../store/db.js';
import type { P2pNetwork } from '../p2p/network.js';
import type { EpochManager } from '../epochs/manager.js';
import type { RequestStore } from '../custody/requests.js';
import type { DepositWatcher } from '../custody/deposits.js';
import type { CustodyChainFollower } from '../custody/custody-chain.js';
import type { Logger } from '../util/log.js';
import type { NodeState } from '../p2p/messages/ping.js';
import type { NodeMetrics } from './metrics.js';

export interface ChainView {
  tip: Tip | null;
  reachable: boolean;
  error?: string;
  /** sat/vB, rounded, from the chain source's estimate. */
  feeRate: number | null;
  /** When the chain source last answered a full poll (unix ms). */
  answeredAt?: number;
}

export interface NodeContext {
  config: Config;
  peerId: string;
  privateKey: PrivateKey;
  db: Db;
  chain: ChainSource;
  chainView: ChainView;
  network: P2pNetwork;
  manager: EpochManager;
  requests: RequestStore;
  deposits: DepositWatcher;
  /**
   * Custody transactions on the best chain. `custodyTxs.on(listener)` hears every change
   * (confirmed, finalized, reverted, rebroadcast, dropped): the hook for ledgers of tx outputs.
   */
  custodyTxs: CustodyChainFollower;
  log: Logger;
  /** Length of a round in ms (period of schedule.signing). */
  roundMs: number;
  now(): number;
  /** What this node is doing, for its pings and /v1/status. */
  activity: { state: NodeState };
  /** Test-only fault injection; never set from config (see StartNodeOptions.faults). */
  faults?: FaultHooks;
  /** Ceremony duration histograms; absent in unit tests that build a bare context. */
  metrics?: NodeMetrics;
}

/**
 * Lets the end-to-end tests make one real node misbehave on the wire (a different proposal, a
 * copied tss_proof, a wrong checksum, an invalid share, a bad DKG share or sub-share, or going
 * silent) without a second protocol implementation. `outgoing` may return a changed payload, or
 * null to drop the message.
 */
export interface FaultHooks {
  /** `to`: the recipient of a direct message; `at`: the (epoch, round) the message is sent for. */
  outgoing?(type: string, payload: unknown, to?: string, at?: MessageAt): unknown | null;
}

export interface MessageAt {
  epoch: number;
  round: number;
}

/** Applies the test hook, if any, to an outgoing message. */
export function outgoing(ctx: Pick<NodeContext, 'faults'>, type: string, payload: unknown, to?: string, at?: MessageAt): unknown | null {
  return ctx.faults?.outgoing ? ctx.faults.outgoing(type, payload, to, at) : payload;
}

export function roundOf(ctx: Pick<NodeContext, 'roundMs'>, ms: number): number {
  return Math.floor(ms / ctx.roundMs);
}
