// What the HTTP API needs from a running node. The node (src/node.ts) implements NodeApi; the
// server only validates requests, calls these methods and serializes the plain data they return
// (bigint becomes a decimal string in JSON). Tests drive the server with a fake NodeApi.
import type { Network } from '../chain/types.js';
import type { EpochKey } from '../crypto/types.js';
import type { SignedEpochRecord } from '../epochs/record.js';
import type { TransferRequest } from '../custody/requests-schema.js';
import type { RoundSummary, Timeline } from '../rounds/roundlog.js';

export type { RoundSummary, Timeline, TransferRequest, EpochKey, SignedEpochRecord };

export type Awaitable<T> = T | Promise<T>;

/** Raw facts /health judges; the verdict (evaluateHealth) lives in the API, not the node. */
export interface HealthInputs {
  /** True until the node has finished starting (keystore open, chain reached once, p2p up). */
  starting?: boolean;
  /** Doppelganger window: listening for another instance with our peer id, not yet taking part. */
  listening?: boolean;
  chain: {
    reachable: boolean;
    error?: string;
    /** ms since the chain source last answered a full poll; null when it never has. */
    lastAnswerAgeMs?: number | null;
    /** The chain source must have answered within this (3 poll intervals, at least 10 s). */
    freshnessMs?: number;
    /** Our tip is behind the tip that more than half of our staked peers announce. */
    behind?: boolean;
  };
  /** Estimated offset of our clock against the peers' (median), null when unknown. */
  clock: { skewMs: number | null };
  /** Our own stake: absent when the caller does not check it (older callers, tests of other parts). */
  stake?: { configured: boolean; valid: boolean; reason?: string };
  /**
   * The committee in force, from the current epoch record: its size n sets f = floor((n-1)/3).
   * null before the first key (no committee exists yet).
   */
  committee?: { size: number; member: boolean; shareHeld: boolean } | null;
  /** At least f+1 staked peers announce a newer epoch than ours: we are catching up on epochs. */
  epochsBehind?: boolean;
  peers: {
    /** Open connections to staked, admitted peers. */
    connectedStaked: number;
    /**
     * Staked operators known (including this node). Used for f only before any committee
     * exists; once there is one, the committee's size decides.
     */
    federationSize: number;
    /** Within p2p.bootstrapGraceMs of start: too few connections is not yet unhealthy. */
    inBootstrapGrace?: boolean;
  };
}

export interface NodeStatus {
  peerId: string;
  network: Network;
  version: string;
  /** False when read from a stopped node's data directory. */
  running: boolean;
  /** Unix ms; null for a stopped node. */
  startedAt: number | null;
  uptimeSec: number | null;
  /** Node activity: e.g. idle, signing, cooldown, keygen, regroup; 'stopped' when read from the data directory. */
  state: string;
  epoch: number | null;
  vaultAddress: string | null;
  threshold: number | null;
  committeeSize: number | null;
  chain: { source: string; reachable: boolean; tipHeight: number | null; tipTime: number | null };
  peers: { connected: number; admitted: number; staked: number; blocked: number };
  stake: { txid: string; vout: number; valid: boolean; reason?: string } | null;
  currentRound: { roundId: number; status: string } | null;
  clockSkewMs: number | null;
}

/** A peer's stake as this node judged it: outpoint "txid:vout", amount, and why it does not count. */
export interface PeerStakeView {
  outpoint: string | null;
  sats: bigint | null;
  valid: boolean;
  reason: string | null;
}

/** GET /v1/peers row; the first five fields are what `metanode peers --json` prints. */
export interface PeerView {
  peerId: string;
  /** 'blocked', the activity an admitted peer announces (idle, signing, keygen, ...), or 'connected' (not admitted). */
  state: string;
  /** Position in seniority order (0 = oldest stake), null when not admitted. */
  seniority: number | null;
  /** Unix ms of the last valid ping. */
  lastSeen: number | null;
  stake: PeerStakeView;
  connected: boolean;
  /** In the peer table (recent valid ping with a valid stake). */
  admitted: boolean;
  /** Unix ms until which the peer is blocklisted, null when not blocked. */
  blockedUntil: number | null;
  tipHeight: number | null;
  clockOffsetMs: number | null;
}

export interface TransferView {
  request: TransferRequest;
  /**
   * pending | in-flight | confirmed (in a block of the best chain, below finality depth) | paid
   * (custody.finalityDepth confirmations) | expired, as the node tracks it.
   */
  state: string;
  txid: string | null;
  /** Unix ms of the last state change. */
  updatedAt: number | null;
  /** Confirmations of the paying tx at the node's last look at the chain (confirmed and paid). */
  confirmations: number | null;
  /** custody.finalityDepth: confirmations at which 'confirmed' becomes 'paid'. */
  finalityDepth: number;
  /** Block of the last change (null when no block caused it, e.g. a broadcast). */
  blockHash: string | null;
  /** Every change of state, oldest first, with the block that caused it. */
  history: TransferHistoryView[];
}

export interface TransferHistoryView {
  state: string;
  txid: string | null;
  blockHash: string | null;
  height: number | null;
  reason: string;
  /** Unix ms. */
  time: number;
}

export interface DepositView {
  txid: string;
  vout: number;
  valueSats: bigint;
  address: string;
  /** Matched transfer request, null when the deposit matches none. */
  requestId: string | null;
  confirmations: number;
  /** e.g. unconfirmed, confirmed, spent, refund-due, refunded. */
  state: string;
}

/**
 * One entry of GET /v1/epochs (seed 003): the record every committee member signed, their
 * identity-key signatures, and the public key material the record commits to (keyHash), so a
 * client can check signatures, recompute the vault address and compare nodes.
 */
export type EpochEntry = SignedEpochRecord & {
  key: EpochKey;
  /** The epoch whose key currently holds the vault. */
  active: boolean;
  /** Recomputed by the node from key (must equal record.vaultAddress). */
  vaultAddress: string;
};

/** Body of GET /v1/epochs (zod: EpochsViewResponseSchema in ./epochs-schema.ts). */
export interface EpochsResponse {
  epochs: EpochEntry[];
}

/** Body of POST /v1/requests, validated by the server (amount as sats). */
export interface TransferRequestSubmission {
  amountSats: bigint;
  payoutAddress: string;
  refundAddress: string;
  /** Unix seconds. */
  expiry: number;
}

export interface RoundsQuery {
  limit: number;
  /** Only rounds with id < before (paging). */
  before?: number;
}

export interface ListQuery {
  limit: number;
  state?: string;
}

/** GET /v1/rewards (src/custody/rewards.ts): amounts in sats as decimal strings. */
export interface RewardsView {
  minPayoutSats: string;
  transferFeeSats: string;
  /** False while some custody tx's rewards cannot be derived yet (then no reward is proposed). */
  complete: boolean;
  waiting: Array<{ txid: string; reason: string }>;
  /** Over the custody txs in blocks: transfers paid, miner fees, reward pools, remainders kept by the vault. */
  totals: { transfers: number; minerFeesSats: string; poolSats: string; remainderSats: string };
  peers: Array<{ peerId: string; accruedSats: string; paidSats: string; inFlightSats: string; balanceSats: string; due: boolean }>;
}

export interface NodeApi {
  health(): Awaitable<HealthInputs>;
  status(): Awaitable<NodeStatus>;
  peers(): Awaitable<PeerView[]>;
  rounds(q: RoundsQuery): Awaitable<RoundSummary[]>;
  /** null when the node has no record of that round. */
  round(id: number): Awaitable<Timeline | null>;
  transfers(q: ListQuery): Awaitable<TransferView[]>;
  deposits(q: ListQuery): Awaitable<DepositView[]>;
  epochs(): Awaitable<EpochsResponse>;
  rewards(): Awaitable<RewardsView>;
  /**
   * Accept a transfer request (signed by this node, then replicated). Throws MetanodeError
   * INVALID_INPUT for a request the node refuses (wrong network address, amount, expiry).
   */
  submitRequest(req: TransferRequestSubmission): Awaitable<TransferRequest>;
  /**
   * Takes a peer off this node's local blocklist (an operator's decision after looking at why it
   * was blocked). Local only: it changes no committee and nothing another node decides.
   */
  unblockPeer(peerId: string): Awaitable<UnblockResult>;
}

export interface BlockEntryView {
  peerId: string;
  reason: string;
  detail: string;
  since: number;
  until: number;
}

export interface UnblockResult {
  peerId: string;
  /** The entry removed; null when the peer was not blocked. */
  removed: BlockEntryView | null;
}
