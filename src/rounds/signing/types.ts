// Plain-data state of one custody signing round on one node, the events that drive it and the
// effects it asks its driver to perform. The transition functions (round.ts and the phase files)
// never do I/O: the driver publishes, persists and broadcasts what the outbox says, in order.
import type { Network } from '../../chain/types.js';
import type { EpochKey, KeyShare } from '../../crypto/types.js';
import type { NonceCommitment, SigningNonces } from '../../crypto/signing.js';
import type { Candidate, CandidateRestriction, CandidateSummary } from '../../custody/candidate.js';
import type { LogEntry } from '../roundlog.js';
import type { ErrorCode } from '../../util/errors.js';
import type {
  AckPayload, CandidatePayload, ChecksumPayload, CommitPayload, FinalPayload, ProposalPayload, SharePayload, SigningSetPayload,
} from './messages.js';

export type Phase = 'candidate' | 'proposal' | 'signing-set' | 'checksum' | 'ceremony' | 'done';
export type RoundOutcome = 'running' | 'completed' | 'aborted' | 'skipped';

/** One row of the participant peer table, in seniority order (index 0 = most senior). */
export interface Participant {
  peerId: string;
  /** FROST identifier of the peer's share (its position in the epoch committee, identifierOf). */
  identifier: string;
  /** Compressed verifying share of the peer (tss_proof is checked against it). */
  verifyingShare: string;
}

export interface RoundTimeouts {
  candidateMs: number;
  proposalMs: number;
  signingSetMs: number;
  checksumMs: number;
  /** Per ceremony attempt: waiting for nonce commitments, then for signature shares. */
  commitMs: number;
  shareMs: number;
  /**
   * Added to commitMs and shareMs per input of the document: every signer commits to, and every
   * node verifies, one nonce pair and one share per input per signer, so a transaction with a
   * hundred inputs needs longer stages than one with two (0 = fixed stages).
   */
  perInputMs: number;
}

export const DEFAULT_TIMEOUTS: RoundTimeouts = {
  candidateMs: 5_000,
  proposalMs: 5_000,
  signingSetMs: 5_000,
  checksumMs: 5_000,
  commitMs: 5_000,
  shareMs: 5_000,
  perInputMs: 40,
};

/** Everything the round needs to know, fixed when it starts. */
export interface RoundConfig {
  network: Network;
  epoch: number;
  roundId: number;
  /** Own peer id. */
  self: string;
  key: EpochKey;
  /** Own share of `key`; null on a node without one (it can still observe and check). */
  share: KeyShare | null;
  threshold: number;
  /** Participant peer table, seniority order, self included. */
  participants: Participant[];
  /**
   * Anchor height from this node's ping view, and the highest anchor its own chain view can
   * serve (its scanned tip). Peers whose ping views differ by a block announce other anchors; the
   * round then moves to the anchor at least t candidates share, if this node can build at it.
   * Both default to the anchor of the node's own candidate.
   */
  anchorHeight?: number;
  maxAnchorHeight?: number;
  /** Own tss_proof for (network, epoch, self, roundId); '' without a share. */
  tssProof: string;
  timeouts: RoundTimeouts;
}

/** Deterministic helpers the round calls; the driver builds them from its view and crypto. */
export interface RoundDeps {
  /**
   * Builds own candidate from the node's view, optionally restricted to a chosen content, at the
   * view's anchor or at `anchorHeight` (null when the view cannot serve that height).
   */
  buildCandidate(restriction?: CandidateRestriction, anchorHeight?: number): Candidate | null;
  /** Checks a peer's tss_proof for this round against its verifying share. */
  verifyTssProof(peer: Participant, proof: string): boolean;
}

export interface Culprit {
  peer: string;
  code: ErrorCode;
  reason: string;
}

/** The first signed message a peer sent for one slot (see signed.ts slotOf). */
export interface SlotEntry {
  type: string;
  /** The payload as received, with its author's `sig`. */
  payload: Record<string, unknown>;
  /** bodyDigest(type, payload). */
  digest: string;
}

/** Proof of equivocation: two different bodies one peer signed for the same slot. */
export interface Equivocation {
  peer: string;
  type: string;
  slot: string;
  first: Record<string, unknown>;
  second: Record<string, unknown>;
}

export interface AttemptState {
  attempt: number;
  /** Peer ids of this attempt's signers, in seniority order. */
  signers: string[];
  /**
   * commit: collecting nonce commitments; ack: own list is complete and valid, waiting until every
   * signer's ack names the same list; share: the list is agreed, shares are released and checked.
   */
  stage: 'commit' | 'ack' | 'share';
  deadline: number;
  nonces: SigningNonces | null;
  ownCommitted: boolean;
  ownShared: boolean;
  /** Commitment lists keyed by FROST identifier (what src/crypto/signing.ts wants). */
  lists: Record<string, NonceCommitment[]> | null;
  /** Per signer (signer order): digest of the commit message held from it, once the list is complete. */
  digests: string[] | null;
  /** Verified shares keyed by FROST identifier. */
  shares: Record<string, string[]>;
}

export interface RoundState {
  cfg: RoundConfig;
  phase: Phase;
  outcome: RoundOutcome;
  startedAt: number;
  deadline: number;
  own: Candidate | null;
  /** The candidate this node proposes (own, or own rebuilt to the chosen content). */
  doc: Candidate | null;
  // Messages by sender peer id, kept from whenever they arrive (peers run at different speeds).
  candidates: Record<string, CandidatePayload>;
  proposals: Record<string, ProposalPayload>;
  signingSets: Record<string, SigningSetPayload>;
  checksums: Record<string, ChecksumPayload>;
  commits: Record<number, Record<string, CommitPayload>>;
  acks: Record<number, Record<string, AckPayload>>;
  sharesIn: Record<number, Record<string, SharePayload>>;
  /** Proposals accepted (own signing set), self first. */
  accepted: string[];
  /** Seniority-ordered eligible signers after threshold-set selection and pruning. */
  pool: string[];
  thresholdSet: string[];
  checksum: string | null;
  attempt: AttemptState | null;
  /** Peers named in this round on evidence (or for their own silence); they take no further part in it. */
  culprits: Culprit[];
  /**
   * Peers left out of the rest of this round without proof against them (their statement of what
   * they hold disagrees with ours and no equivocation surfaced): never blocked, never named.
   */
  setAside: Culprit[];
  /** First signed message per `${peer}|${slot}`. */
  slots: Record<string, SlotEntry>;
  /** Proven equivocations (both signed messages), in the order found. */
  equivocations: Equivocation[];
  /** `${peer}|${slot}` keys whose message this node has relayed. */
  relayed: string[];
  /** Peers reported (from pings) in the signing state for this round. */
  signingPeers: string[];
  cooldown: boolean;
  result: { txid: string; hex: string } | null;
  abort: { code: ErrorCode; reason: string; culprits: string[] } | null;
  /** Why the round ended (for the round summary). */
  endReason: string | null;
  chosen: CandidateSummary | null;
}

export type RoundEvent =
  | { kind: 'tick'; now: number }
  | { kind: 'message'; now: number; from: string; type: string; payload: unknown }
  /** Peers whose latest ping says they are signing in this round. */
  | { kind: 'peer-states'; now: number; signing: string[] }
  /** The driver could not persist the signed-session record (or it conflicts): do not sign. */
  | { kind: 'session-refused'; now: number; reason: string };

export type OutMsg =
  | { kind: 'publish'; type: string; payload: unknown }
  /**
   * Persist (roundId, attempt, digest) before anything after it in the outbox is released; if
   * that fails or conflicts, drop the rest of the outbox and feed back 'session-refused'.
   */
  | { kind: 'guard-session'; roundId: number; attempt: number; digest: string; /** commitmentDigest of own nonce commitments */ commitments: string[] }
  | { kind: 'broadcast-tx'; txid: string; hex: string; candidate: Candidate }
  | { kind: 'block'; peer: string; code: ErrorCode; reason: string }
  /** Keep both signed messages of an equivocation in the round log. */
  | { kind: 'evidence'; evidence: Equivocation };

export interface StepResult {
  state: RoundState;
  outbox: OutMsg[];
  log: LogEntry[];
}
