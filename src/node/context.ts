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
import type { OutboundPort } from './outbound.js';

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
  /** Where every outgoing round and ceremony message leaves (src/node/outbound.ts). */
  outbound: OutboundPort;
  /** Ceremony duration histograms; absent in unit tests that build a bare context. */
  metrics?: NodeMetrics;
}

export function roundOf(ctx: Pick<NodeContext, 'roundMs'>, ms: number): number {
  return Math.floor(ms / ctx.roundMs);
}
