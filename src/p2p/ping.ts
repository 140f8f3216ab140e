// Pings (seed 004 "Continuous pings"): publishing our own every `intervalMs`, and judging
// everyone else's. A ping passes the generic envelope checks (validate.ts), then here: the stake
// it names must be valid for the sender (cached chain check), and its tss_proof (if present, or
// required) must verify. A valid ping (re)admits the sender to the peer table; an invalid one
// blocklists it with the reason. Peers silent for `peerTimeoutMs` drop out.
// A stake that is too young, unconfirmed or not visible yet is "not eligible (yet)": the ping is
// ignored, nobody is blocked. Those verdicts depend on this node's chain view (one block apart
// from the sender's) and prove no misbehaviour. A moved stake (its owner spent it) still blocks:
// the owner withdrew its stake, so it must leave every node's table, not linger until timeout.
import type { Envelope } from './envelope.js';
import type { PingPayload, NodeState } from './messages/ping.js';
import type { PeerEntry, PeerTable } from './peer-table.js';
import type { StakeChecker } from './stake-checker.js';
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js';

export interface TssProofContext {
  network: string;
  epoch: number;
  peerId: string;
  round: number;
}

/**
 * Verifies a peer's tss_proof (src/crypto/proof.ts verifyTssProof against its verifying share).
 * Returns undefined when this node cannot judge (it does not know that epoch's key yet): the
 * proof then earns neither credit nor blame.
 */
export type ProofChecker = (peerId: string, proof: string, ctx: TssProofContext) => boolean | undefined;

export interface PingJudgeOptions {
  network: string;
  stakeChecker: StakeChecker;
  proofChecker?: ProofChecker;
  /** Whether `peerId` must carry a tss_proof in epoch `epoch` (it holds a share of that key). */
  proofRequired?: (peerId: string, epoch: number) => boolean;
  table: PeerTable;
  now: () => number;
}

export interface PingJudgement {
  verdict: Verdict;
  /** Reason to blocklist the sender, when the ping is a violation. */
  block?: { reason: string; detail: string };
  /** The entry to upsert on accept. */
  entry?: PeerEntry;
  /** The stake did not verify (other than a chain-source outage): the sender is not staked here now. */
  unstaked?: { reason: string; detail: string };
}

/** Stake verdicts that follow from this node's chain view, not from anything the sender did wrong. 'moved' is not one. */
export const NOT_YET_ELIGIBLE = new Set(['too-young', 'unconfirmed', 'not-found']);

export async function judgePing(env: Envelope<PingPayload>, receivedAt: number, o: PingJudgeOptions): Promise<PingJudgement> {
  const p = env.payload;
  const peerId = env.from;
  const ctx: TssProofContext = { network: o.network, epoch: env.epoch, peerId, round: env.round };
  let proven = false;
  if (p.tss_proof !== undefined) {
    let ok: boolean | undefined;
    try {
      ok = o.proofChecker?.(peerId, p.tss_proof, ctx);
    } catch {
      ok = false;
    }
    if (ok === false) return { verdict: reject('bad-tss-proof'), block: { reason: 'bad-tss-proof', detail: `epoch ${env.epoch} round ${env.round}` } };
    proven = ok === true;
  } else if (o.proofRequired?.(peerId, env.epoch)) {
    return { verdict: reject('missing-tss-proof'), block: { reason: 'missing-tss-proof', detail: `holds a share of epoch ${env.epoch} but sent no proof` } };
  }
  const verdict = await o.stakeChecker.check(peerId, p.stake);
  if (!verdict.valid) {
    if (verdict.reason === 'unavailable') return { verdict: ignore('stake-unavailable') };
    const unstaked = { reason: verdict.reason, detail: verdict.detail };
    if (NOT_YET_ELIGIBLE.has(verdict.reason)) return { verdict: ignore(`stake-not-eligible-${verdict.reason}`), unstaked };
    return { verdict: reject('bad-stake'), block: { reason: `stake-${verdict.reason}`, detail: verdict.detail }, unstaked };
  }
  const prev = o.table.get(peerId);
  const entry: PeerEntry = {
    peerId,
    seniority: verdict.seniority,
    stakeOutpoint: p.stake,
    amount: verdict.amount,
    rewardAddress: verdict.rewardAddress,
    state: p.state as NodeState,
    lastSeen: receivedAt,
    firstSeen: prev?.firstSeen ?? receivedAt,
    clockOffsetMs: p.clock - receivedAt,
    tip: p.tip,
    epoch: env.epoch,
    round: env.round,
    hasProof: proven,
  };
  return { verdict: ACCEPT, entry };
}
