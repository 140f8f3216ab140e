// The shapes the CLI receives: the API's types after JSON (bigint -> decimal string).
import type { NodeStatus, PeerView, TransferView, DepositView, EpochEntry, EpochsResponse, RoundSummary, Timeline, TransferRequest, RewardsView } from '../api/types.js';

export type Jsonified<T> = T extends bigint
  ? string
  : T extends Array<infer U>
    ? Jsonified<U>[]
    : T extends object
      ? { [K in keyof T]: Jsonified<T[K]> }
      : T;

export type StatusJson = Jsonified<NodeStatus>;
export type PeerJson = Jsonified<PeerView>;
export type TransferJson = Jsonified<TransferView>;
export type DepositJson = Jsonified<DepositView>;
export type EpochJson = Jsonified<EpochEntry>;
export type EpochsResponseJson = Jsonified<EpochsResponse>;
export type RoundJson = Jsonified<RoundSummary>;
export type TimelineJson = Jsonified<Timeline>;
export type TransferRequestJson = Jsonified<TransferRequest>;
export type RewardsJson = Jsonified<RewardsView>;
