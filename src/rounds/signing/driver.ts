// Thin driver: runs one round's state machine against injected ports. It performs the outbox in
// order (publish, durable signed-session guard, transaction broadcast and bookkeeping, blocking),
// writes the round log, and turns guard failures back into events. The node wires the ports:
//   - messages of the signing topic for this round  -> driver.message(from, type, payload)
//   - a timer (e.g. every 250 ms)                     -> driver.tick()
//   - ping states (peers whose state is 'signing')    -> driver.peerStates(peerIds)
import type { Db } from '../../store/db.js';
import type { ErrorCode } from '../../util/errors.js';
import { errorMessage } from '../../util/errors.js';
import { appendEvidence, appendLogs, finishRound, startRound, type EvidenceRow, type LogEntry } from '../roundlog.js';
import { recordBroadcast } from '../../custody/transfers.js';
import { guardSignedSession } from './sessions.js';
import { startSigningRound, stepSigningRound } from './round.js';
import type { RoundConfig, RoundDeps, RoundEvent, RoundState, OutMsg, Participant } from './types.js';
import type { Envelope } from '../../p2p/envelope.js';
import { verifyTssProof } from '../../crypto/proof.js';
import { buildCandidate, type CandidateParams, type CandidateView } from '../../custody/candidate.js';
import { isSigningMessageType } from './messages.js';

export interface SigningPorts {
  /** Database with roundLogMigrations, transferMigrations and signedSessionMigrations applied. */
  db: Db;
  now(): number;
  /** Gossip publish on the signing topic; the network wraps it in the envelope for this round. */
  publish(type: string, payload: unknown): void;
  /** ChainSource.broadcast. */
  broadcastTx(hex: string): Promise<string>;
  /** Blocklist the peer (protocol violation, invalid share, silence, checksum outlier). */
  block(peer: string, code: ErrorCode, reason: string): void;
  /** Current chain tip height (the RBF clock of the broadcast tx starts here). */
  tipHeight(): number;
  /**
   * Called when the round reaches its end, and again if its outcome changes afterwards (a node
   * that skipped or aborted later learns the signed transaction: completed).
   */
  onDone?(state: RoundState): void;
}

export class SigningRoundDriver {
  private st: RoundState;
  private finishedAs: string | null = null;
  private broadcastPromises: Promise<unknown>[] = [];

  constructor(
    private readonly ports: SigningPorts,
    cfg: RoundConfig,
    private readonly deps: RoundDeps,
  ) {
    const now = ports.now();
    startRound(ports.db, cfg.roundId, now);
    const r = startSigningRound(cfg, deps, now);
    this.st = r.state;
    this.apply(r.outbox, r.log);
  }

  get state(): RoundState {
    return this.st;
  }

  get done(): boolean {
    return this.st.phase === 'done';
  }

  /**
   * Feeds a network envelope (already validated by the network layer). Returns false, without
   * touching the round, when it is not a signing message of this round's network, epoch and id;
   * the node may buffer messages of the next round for the next driver.
   */
  envelope(env: Envelope): boolean {
    const cfg = this.st.cfg;
    if (!isSigningMessageType(env.type) || env.network !== cfg.network || env.epoch !== cfg.epoch || env.round !== cfg.roundId) return false;
    this.message(env.from, env.type, env.payload);
    return true;
  }

  message(from: string, type: string, payload: unknown): void {
    this.step({ kind: 'message', now: this.ports.now(), from, type, payload });
  }

  tick(): void {
    this.step({ kind: 'tick', now: this.ports.now() });
  }

  peerStates(signing: string[]): void {
    this.step({ kind: 'peer-states', now: this.ports.now(), signing });
  }

  /** Resolves when every chain broadcast started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.broadcastPromises);
  }

  /** Log rows written after an async result; the node may be shutting down (DB closed). */
  private lateLog(e: LogEntry): void {
    try {
      appendLogs(this.ports.db, [e]);
    } catch {
      // nothing to do: the broadcast outcome is also visible through transfer reconciliation
    }
  }

  private step(ev: RoundEvent): void {
    const r = stepSigningRound(this.st, this.deps, ev);
    this.st = r.state;
    this.apply(r.outbox, r.log);
  }

  private apply(outbox: OutMsg[], log: LogEntry[]): void {
    const { db } = this.ports;
    const extra: LogEntry[] = [];
    const evidence: EvidenceRow[] = [];
    const roundId = this.st.cfg.roundId;
    let refused: string | null = null;
    for (const o of outbox) {
      if (o.kind === 'guard-session') {
        try {
          guardSignedSession(db, { roundId: o.roundId, attempt: o.attempt, digest: o.digest, now: this.ports.now(), commitments: o.commitments });
        } catch (e) {
          refused = errorMessage(e);
          extra.push({ roundId, phase: 'ceremony', time: this.ports.now(), decision: 'refuse-sign', digest: o.digest, reason: refused });
          break; // nothing after the guard (the share) is released
        }
      } else if (o.kind === 'publish') {
        this.ports.publish(o.type, o.payload);
      } else if (o.kind === 'block') {
        this.ports.block(o.peer, o.code, o.reason);
      } else if (o.kind === 'evidence') {
        evidence.push({ roundId, time: this.ports.now(), ...o.evidence });
      } else if (o.kind === 'broadcast-tx') {
        const c = o.candidate;
        try {
          recordBroadcast(db, {
            txid: o.txid, roundId, hex: o.hex, inputs: c.inputs.map((i) => ({ txid: i.txid, vout: i.vout })),
            transferIds: c.transferIds, feeRate: c.feeRate, height: this.ports.tipHeight(), now: this.ports.now(),
            ...(c.replaces ? { replaces: c.replaces } : {}),
          });
        } catch (e) {
          extra.push({ roundId, phase: 'broadcast', time: this.ports.now(), decision: 'bookkeeping-refused', digest: o.txid, reason: errorMessage(e) });
          continue; // never broadcast a tx whose transfers are in flight elsewhere
        }
        const txid = o.txid;
        const p = this.ports.broadcastTx(o.hex).then(
          () => this.lateLog({ roundId, phase: 'broadcast', time: this.ports.now(), decision: 'broadcast', digest: txid }),
          (e: unknown) => this.lateLog({ roundId, phase: 'broadcast', time: this.ports.now(), decision: 'broadcast-failed', digest: txid, reason: errorMessage(e) }),
        );
        this.broadcastPromises.push(p);
      }
    }
    db.transaction(() => {
      appendLogs(db, [...log, ...extra]);
      for (const e of evidence) appendEvidence(db, e);
    })();
    if (refused !== null) {
      this.step({ kind: 'session-refused', now: this.ports.now(), reason: refused });
      return;
    }
    if (this.st.phase === 'done' && this.finishedAs !== this.st.outcome) {
      // A round can end twice: e.g. skipped here, then completed when the signed tx arrives.
      this.finishedAs = this.st.outcome;
      const s = this.st;
      finishRound(db, roundId, {
        status: s.outcome === 'running' ? 'aborted' : s.outcome,
        endedAt: this.ports.now(),
        ...(s.result ? { txid: s.result.txid } : {}),
        ...(s.thresholdSet.length ? { thresholdSet: s.thresholdSet } : {}),
        reason: s.abort?.reason ?? s.endReason ?? s.outcome,
        culprits: s.abort?.culprits ?? s.culprits.map((c) => c.peer),
      });
      this.ports.onDone?.(s);
    }
  }
}

/**
 * The usual deps: the candidate from the node's anchored view (src/custody/candidate.ts) and the
 * tss_proof check bound to (network, epoch, peer, round) from src/crypto/proof.ts.
 */
export function defaultRoundDeps(view: CandidateView, params: CandidateParams, ctx: Pick<RoundConfig, 'network' | 'epoch' | 'roundId'>): RoundDeps {
  return {
    buildCandidate: (restriction, anchorHeight) => {
      if (anchorHeight === undefined || anchorHeight === view.anchorHeight) return buildCandidate(view, params, restriction);
      if (anchorHeight > (view.maxAnchorHeight ?? view.anchorHeight) || anchorHeight < 0) return null;
      return buildCandidate({ ...view, anchorHeight }, params, restriction);
    },
    verifyTssProof: (p: Participant, proof: string) =>
      verifyTssProof(p.verifyingShare, { network: ctx.network, epoch: ctx.epoch, peerId: p.peerId, round: ctx.roundId }, proof),
  };
}
