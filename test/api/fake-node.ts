// A NodeApi with fixed, recognisable data for API and CLI tests.
import { MetanodeError } from '../../src/util/errors.js';
import type { HealthInputs, NodeApi, NodeStatus, PeerView, TransferRequestSubmission, EpochsResponse, EpochKey, DepositView, TransferView, RewardsView } from '../../src/api/types.js';
import type { RoundSummary, Timeline } from '../../src/rounds/roundlog.js';
import type { TransferRequest } from '../../src/custody/requests-schema.js';
import { taprootOutputKey, vaultAddress } from '../../src/crypto/taproot.js';
import { epochKeyHash } from '../../src/epochs/record.js';

export const PEER_A = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
export const PEER_B = '12D3KooWPSjbtGucx314oeMqdd3PegX8yh14PEge3kQXKDgJHaPF';
export const PEER_C = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';
export const PAYOUT = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
export const REFUND = 'bcrt1q9vza2e8x573nczrlzms0wvx3gsqjx7vaxwd45v';

export const STATUS: NodeStatus = {
  peerId: PEER_A,
  network: 'regtest',
  version: '0.1.0',
  running: true,
  startedAt: 1_700_000_000_000,
  uptimeSec: 42,
  state: 'idle',
  epoch: 2,
  vaultAddress: 'bcrt1pvault',
  threshold: 3,
  committeeSize: 4,
  chain: { source: 'esplora', reachable: true, tipHeight: 321, tipTime: 1_700_000_000 },
  peers: { connected: 3, admitted: 3, staked: 4, blocked: 0 },
  stake: { txid: 'ab'.repeat(32), vout: 1, valid: true },
  currentRound: null,
  clockSkewMs: 12,
};

export const PEERS: PeerView[] = [
  {
    peerId: PEER_B,
    state: 'idle',
    seniority: 0,
    lastSeen: 1_700_000_041_000,
    stake: { outpoint: `${'cd'.repeat(32)}:0`, sats: 2_000_000n, valid: true, reason: null },
    connected: true,
    admitted: true,
    blockedUntil: null,
    tipHeight: 321,
    clockOffsetMs: -3,
  },
  {
    peerId: PEER_C,
    state: 'blocked',
    seniority: null,
    lastSeen: null,
    stake: { outpoint: null, sats: null, valid: false, reason: 'blocked: invalid-ping (bad signature)' },
    connected: false,
    admitted: false,
    blockedUntil: 1_700_259_200_000,
    tipHeight: null,
    clockOffsetMs: null,
  },
];

export const ROUNDS: RoundSummary[] = [
  { roundId: 28_333_334, status: 'completed', txid: 'ef'.repeat(32), thresholdSet: [PEER_A, PEER_B], culprits: [], startedAt: 1_700_000_040_000, endedAt: 1_700_000_043_000 },
  { roundId: 28_333_333, status: 'aborted', reason: 'checksum mismatch', culprits: [PEER_B], startedAt: 1_700_000_000_000, endedAt: 1_700_000_002_000 },
];

export const TIMELINE: Timeline = {
  round: ROUNDS[0],
  entries: [{ seq: 1, roundId: 28_333_334, phase: 'proposal', time: 1_700_000_040_100, peer: PEER_B, decision: 'accept', culprits: [] }],
};

export const REQUEST: TransferRequest = {
  id: '0123456789abcdef0123456789abcdef',
  network: 'regtest',
  epoch: 2,
  amountSats: 150_000n,
  payoutAddress: PAYOUT,
  refundAddress: REFUND,
  expiry: 1_800_000_000,
  depositAddress: 'bcrt1pdeposit',
  timestamp: 1_700_000_000_500,
  timestampIndex: 0,
  origin: PEER_A,
  signature: '00'.repeat(64),
};

export const TRANSFERS: TransferView[] = [{ request: REQUEST, state: 'pending', txid: null, updatedAt: 1_700_000_000_500, confirmations: null, finalityDepth: 2, blockHash: null, history: [] }];
export const DEPOSITS: DepositView[] = [
  { txid: '12'.repeat(32), vout: 0, valueSats: 152_000n, address: 'bcrt1pdeposit', requestId: REQUEST.id, confirmations: 2, state: 'confirmed' },
];
const INTERNAL_KEY = '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const EPOCH_KEY: EpochKey = {
  epoch: 2,
  network: 'regtest',
  outputKey: taprootOutputKey(INTERNAL_KEY).outputKey,
  internalKey: INTERNAL_KEY,
  threshold: 1,
  committee: [{ peerId: PEER_A, identifier: '01'.repeat(32) }],
  verifyingShares: { ['01'.repeat(32)]: '02' + '33'.repeat(32) },
  commitments: ['02' + '44'.repeat(32)],
};
const VAULT = vaultAddress(EPOCH_KEY);
/** Shape-valid /v1/epochs body (the signature is not a real one: API/CLI plumbing tests only). */
export const EPOCHS: EpochsResponse = {
  epochs: [
    {
      record: {
        version: 1,
        kind: 'keygen',
        network: 'regtest',
        epoch: 2,
        attempt: { startedAt: 0, id: '0a'.repeat(32) },
        previousEpoch: null,
        outputKey: EPOCH_KEY.outputKey,
        internalKey: INTERNAL_KEY,
        vaultAddress: VAULT,
        committee: EPOCH_KEY.committee,
        threshold: 1,
        transcriptHash: '55'.repeat(32),
        keyHash: epochKeyHash(EPOCH_KEY),
        testSignature: null,
      },
      signatures: [{ peerId: PEER_A, signature: '66'.repeat(64) }],
      status: 'adopted',
      key: EPOCH_KEY,
      active: true,
      vaultAddress: VAULT,
    },
  ],
};

/** Shape-valid /v1/rewards body: one peer due, one below the minimum. */
export const REWARDS: RewardsView = {
  minPayoutSats: '10000',
  transferFeeSats: '2000',
  complete: true,
  waiting: [],
  totals: { transfers: 12, minerFeesSats: '3000', poolSats: '21000', remainderSats: '1' },
  peers: [
    { peerId: PEER_A, accruedSats: '14000', paidSats: '0', inFlightSats: '0', balanceSats: '14000', due: true },
    { peerId: PEER_B, accruedSats: '7000', paidSats: '0', inFlightSats: '0', balanceSats: '7000', due: false },
  ],
};

export interface FakeNode extends NodeApi {
  healthInputs: HealthInputs;
  submitted: TransferRequestSubmission[];
  calls: Array<{ method: string; arg?: unknown }>;
}

export function fakeNode(): FakeNode {
  const f: FakeNode = {
    healthInputs: { chain: { reachable: true }, clock: { skewMs: 10 }, peers: { connectedStaked: 2, federationSize: 4 } },
    submitted: [],
    calls: [],
    health: () => f.healthInputs,
    status: async () => STATUS,
    peers: () => PEERS,
    rounds: (q) => {
      f.calls.push({ method: 'rounds', arg: q });
      return ROUNDS.filter((r) => q.before === undefined || r.roundId < q.before).slice(0, q.limit);
    },
    round: (id) => (id === TIMELINE.round!.roundId ? TIMELINE : null),
    transfers: (q) => {
      f.calls.push({ method: 'transfers', arg: q });
      return TRANSFERS.filter((t) => !q.state || t.state === q.state).slice(0, q.limit);
    },
    deposits: (q) => DEPOSITS.slice(0, q.limit),
    epochs: () => EPOCHS,
    rewards: () => REWARDS,
    submitRequest: async (req) => {
      if (!req.payoutAddress.startsWith('bcrt1')) throw new MetanodeError('INVALID_INPUT', `payout address ${req.payoutAddress} is not a regtest address`);
      f.submitted.push(req);
      return { ...REQUEST, amountSats: req.amountSats, payoutAddress: req.payoutAddress, refundAddress: req.refundAddress, expiry: req.expiry };
    },
    unblockPeer: (peerId) => {
      f.calls.push({ method: 'unblockPeer', arg: peerId });
      const p = PEERS.find((x) => x.peerId === peerId && x.blockedUntil !== null);
      return { peerId, removed: p ? { peerId, reason: 'invalid-ping', detail: 'bad signature', since: p.blockedUntil! - 72 * 3600_000, until: p.blockedUntil! } : null };
    },
  };
  return f;
}
