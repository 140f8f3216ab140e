// Runs one custody signing round per round boundary (DESIGN §3): builds this node's view of the
// chain and the request store as of the shared anchor height, starts the pure round machine
// behind SigningRoundDriver, feeds it gossip, ping states and ticks, and stops at the round's end.
import { fundedRequests } from './request-upkeep.js';
import { PeerBuffer } from '../util/peer-buffer.js';
import { createTssProof } from '../crypto/proof.js';
import { depositAddress, scriptPubKeyFor, vaultAddress } from '../crypto/taproot.js';
import type { EpochKey, KeyShare } from '../crypto/types.js';
import { anchorHeight, fromStoredRequest, type CandidateParams, type CandidateView } from '../custody/candidate.js';
import { dueForBump, excludedTransfers, lockedOutpoints, trackTransfer } from '../custody/transfers.js';
import type { Envelope } from '../p2p/envelope.js';
import { SigningRoundDriver, defaultRoundDeps } from '../rounds/signing/driver.js';
import { isSigningMessageType } from '../rounds/signing/messages.js';
import { DEFAULT_TIMEOUTS, type Participant, type RoundTimeouts } from '../rounds/signing/types.js';
import { finishRound, startRound } from '../rounds/roundlog.js';
import { errorMessage } from '../util/errors.js';
import { roundOf, type NodeContext } from './context.js';
import { signOutgoing } from '../rounds/signing/signed.js';
import { stakedMembers, type StakedMember } from './peers.js';
import { rewardLedger, rewardOutputsOf, type RewardSource } from '../custody/rewards.js';
import type { RewardLedgerView } from '../custody/reward-balance.js';
import { addressToScript } from '../chain/network.js';
import type { Network } from '../chain/types.js';
import { nodeLeavers, nodeRewardSource } from './rewards.js';
import { SilenceMemory, preferResponsive } from '../rounds/signing/silence.js';

/**
 * Phase timeouts scale with the round length so a round always ends before the next starts. The
 * ceremony stages also grow with the document's input count: a hundred inputs add a sixth of the
 * round to each stage, at most 4 s (the runner still ends the round at its boundary).
 */
export function roundTimeouts(roundMs: number): RoundTimeouts {
  const each = Math.max(1_000, Math.min(DEFAULT_TIMEOUTS.candidateMs, Math.floor(roundMs / 6)));
  const perInputMs = Math.min(DEFAULT_TIMEOUTS.perInputMs, Math.floor(roundMs / 6 / 100));
  return { candidateMs: each, proposalMs: each, signingSetMs: each, checksumMs: each, commitMs: each, shareMs: each, perInputMs };
}

const TICK_MS = 200;
/** Early messages kept per sender and in all (a peer sends about ten per round). */
const EARLY_PER_PEER = 100;
const MAX_BUFFERED = 2_000;

export class SigningRunner {
  private driver: SigningRoundDriver | null = null;
  /** Messages for a round this node has not started yet (peers' clocks run a little ahead). */
  private early = new PeerBuffer<Envelope>(EARLY_PER_PEER, MAX_BUFFERED);
  /** Members named for silence in recent rounds (silence.ts: a preference, never a block). */
  private readonly silent = new SilenceMemory();

  constructor(private readonly ctx: NodeContext) {}

  private aborting = false;

  /** Node shutdown: the running round stops listening at its next tick. */
  abort(): void {
    this.aborting = true;
  }

  get current(): SigningRoundDriver | null {
    return this.driver;
  }

  onEnvelope(env: Envelope): void {
    if (!isSigningMessageType(env.type)) return;
    if (this.driver && this.driver.envelope(env)) return;
    const local = roundOf(this.ctx, this.ctx.now());
    if (env.round >= local) this.early.push(env.from, env);
  }

  /** One round, started at `at`; resolves when the round is over (done or out of time). */
  async run(at: Date): Promise<void> {
    const { ctx } = this;
    const roundId = roundOf(ctx, at.getTime());
    const roundStart = roundId * ctx.roundMs;
    const roundEnd = roundStart + ctx.roundMs;
    this.early.retain((e) => e.round >= roundId);
    const cur = await this.chooseEpoch();
    if (!cur) {
      ctx.log.debug({ roundId }, 'signing round: this node holds no share of a key with work to do');
      return;
    }
    const members = stakedMembers(ctx);
    const online = participantsFor(cur.key, members);
    if (!online.some((p) => p.peerId === ctx.peerId)) return;
    const { participants, left } = preferResponsive(online, this.silent.active(ctx.now()), cur.key.threshold, ctx.peerId);
    if (left.length) ctx.log.info({ roundId, left }, 'signing round: recently silent members left out (enough others online)');
    if (participants.length < cur.key.threshold) {
      this.skip(roundId, `only ${participants.length} of ${cur.key.threshold} committee members are online`);
      return;
    }
    const tips = members.filter((m) => participants.some((p) => p.peerId === m.peerId)).map((m) => m.tip ?? -1);
    const pinged = anchorHeight(tips, cur.key.threshold);
    // Our lists are complete only up to our own scanned tip: never claim an anchor beyond it.
    const ownTip = ctx.chainView.tip?.height ?? -1;
    const anchor = pinged === null || ownTip < 0 ? null : Math.min(pinged, ownTip);
    if (anchor === null || ctx.chainView.feeRate === null) {
      this.skip(roundId, anchor === null ? 'no anchor height reached by t peers' : 'no fee estimate from the chain source');
      return;
    }
    let view: CandidateView;
    try {
      view = this.buildView(cur.key, roundId, roundStart, anchor, ownTip, participants, members);
      if (cur.sweepTo) view.sweepTo = cur.sweepTo;
    } catch (e) {
      this.skip(roundId, `view: ${errorMessage(e)}`);
      return;
    }
    const c = ctx.config.custody;
    const params: CandidateParams = {
      minConfirmations: c.minConfirmations,
      replicationDelayMs: c.replicationDelayMs,
      lateDepositEveryBlocks: c.lateDepositEveryBlocks,
      transferFee: c.transferFeeSats,
      feeRateMin: c.feeRateMin,
      feeRateMax: c.feeRateMax,
    };
    const cfg = {
      network: ctx.config.network,
      epoch: cur.key.epoch,
      roundId,
      self: ctx.peerId,
      key: cur.key,
      share: cur.share,
      threshold: cur.key.threshold,
      participants,
      anchorHeight: anchor,
      maxAnchorHeight: ownTip,
      tssProof: createTssProof(cur.share, { network: ctx.config.network, epoch: cur.key.epoch, peerId: ctx.peerId, round: roundId }),
      timeouts: roundTimeouts(ctx.roundMs),
    };
    const driver = new SigningRoundDriver(
      {
        db: ctx.db,
        now: ctx.now,
        publish: (type, payload) => {
          const p = signOutgoing(cur.share, { network: ctx.config.network, epoch: cur.key.epoch, peerId: ctx.peerId, round: roundId }, type, payload);
          ctx.outbound.publish(type, p, { epoch: cur.key.epoch, round: roundId }).catch((e) => ctx.log.warn({ type, err: errorMessage(e) }, 'publish failed'));
        },
        broadcastTx: (hex) => ctx.chain.broadcast(hex),
        // Silence is not proof of misbehaviour (a crash, a partition, a loaded host): the silent
        // member is named in the round log and retried around, then preferred out of the next
        // rounds for blocklist.silentMinutes while t others are online (silence.ts), never
        // blocked. Provable faults (invalid share against an agreed list, equivocation) are
        // blocked for blocklist.hours.
        block: (peer, code, reason) => {
          if (code === 'TIMEOUT') this.silent.note(peer, ctx.now() + ctx.config.blocklist.silentMinutes * 60_000);
          else ctx.network.block(peer, code, reason);
        },
        tipHeight: () => ctx.chainView.tip?.height ?? anchor,
      },
      cfg,
      defaultRoundDeps(view, params, { network: ctx.config.network, epoch: cur.key.epoch, roundId }),
    );
    this.driver = driver;
    const t0 = ctx.now();
    let observed = false;
    const observe = () => {
      if (observed || !driver.done) return;
      observed = true;
      ctx.metrics?.ceremonyDuration.observe({ kind: 'signing', outcome: driver.state.outcome }, (ctx.now() - t0) / 1000);
    };
    // Pings say 'signing' only while this node is a signer in the FROST ceremony: peers count
    // signing peers for the cooldown rule (t+1 signing means a threshold set is already at work).
    const announce = () => {
      const st = driver.state;
      if (st.phase === 'done') ctx.activity.state = st.outcome === 'completed' || st.cooldown ? 'cooldown' : 'idle';
      else ctx.activity.state = st.phase === 'ceremony' && st.attempt?.signers.includes(ctx.peerId) ? 'signing' : 'idle';
    };
    announce();
    const buffered = this.early.take((e) => e.round === roundId);
    for (const env of buffered) driver.envelope(env);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        try {
          driver.peerStates(ctx.network.table.list().filter((e) => e.state === 'signing' && e.round === roundId).map((e) => e.peerId));
          driver.tick();
          observe();
        } catch (e) {
          ctx.log.error({ roundId, err: errorMessage(e) }, 'signing round step failed');
        }
        // Keep listening after 'done' until the boundary: late sign.final messages still count.
        if (this.aborting || ctx.now() >= roundEnd - TICK_MS || (driver.done && ctx.now() >= roundEnd - 2 * TICK_MS)) {
          clearInterval(timer);
          resolve();
        }
        announce();
      }, TICK_MS);
      timer.unref?.();
    });
    await driver.settled();
    observe();
    const s = driver.state;
    ctx.log.info(
      { roundId, outcome: s.outcome, txid: s.result?.txid, thresholdSet: s.thresholdSet.length ? s.thresholdSet : undefined, reason: s.abort?.reason ?? s.endReason ?? undefined },
      'signing round ended',
    );
    this.driver = null;
    ctx.activity.state = 'idle';
  }

  /**
   * The key this round works for: the oldest earlier epoch (a different key, not yet retired)
   * that still holds funds and whose share we hold is swept to the current vault first (DESIGN
   * §4); otherwise the current epoch. Every node decides from the same anchored deposit view.
   */
  private async chooseEpoch(): Promise<{ key: EpochKey; share: KeyShare; sweepTo?: string } | null> {
    const { ctx } = this;
    const cur = await ctx.manager.currentKeyAndShare();
    if (!cur) return null;
    const funded = new Set(ctx.deposits.list({ status: ['seen', 'confirmed'] }).filter((d) => d.blockHeight !== undefined).map((d) => d.epoch));
    for (const e of ctx.manager.store.all()) {
      if (e.record.epoch >= cur.record.epoch || e.status === 'retired' || e.record.outputKey === cur.record.outputKey) continue;
      if (!funded.has(e.record.epoch)) continue;
      const share = await ctx.manager.loadShare(e.record.epoch);
      if (share) return { key: e.key, share, sweepTo: scriptPubKeyFor(cur.key) };
    }
    return cur.share ? { key: cur.key, share: cur.share } : null;
  }

  private skip(roundId: number, reason: string): void {
    const now = this.ctx.now();
    startRound(this.ctx.db, roundId, now);
    finishRound(this.ctx.db, roundId, { status: 'skipped', endedAt: now, reason });
    this.ctx.log.info({ roundId, reason }, 'signing round skipped');
  }

  private buildView(key: EpochKey, roundId: number, roundStart: number, anchor: number, maxAnchor: number, participants: Participant[], members: StakedMember[]): CandidateView {
    const { ctx } = this;
    const now = ctx.now();
    // A regroup keeps the key under a new epoch number: requests made under any epoch with this
    // key pay to the same deposit addresses and belong to this round.
    const sameKey = new Set(ctx.manager.store.all().filter((e) => e.record.outputKey === key.outputKey).map((e) => e.record.epoch));
    sameKey.add(key.epoch);
    const vault = vaultAddress(key);
    // Up to our scanned tip, not just the anchor: the round may move to a peer-shared anchor
    // above ours (the candidate builder filters by whichever anchor it builds at).
    const live = ctx.deposits.list({ status: ['seen', 'confirmed'] }).filter((d) => d.blockHeight !== undefined && d.blockHeight <= maxAnchor);
    const requests = fundedRequests(ctx.requests, live, roundStart - ctx.config.custody.replicationDelayMs, sameKey);
    for (const r of requests) trackTransfer(ctx.db, r.id, now);
    const vaultUtxos = live
      .filter((d) => d.kind === 'vault' && d.address === vault)
      .map((d) => ({ txid: d.txid, vout: d.vout, value: d.value, scriptPubKey: d.scriptPubKey, height: d.blockHeight! }));
    const known = new Map(requests.map((r) => [r.id, r]));
    const deposits = live
      .filter((d) => d.kind === 'deposit' && d.requestId !== undefined && known.has(d.requestId) && d.address === depositAddress(key, d.requestId))
      .map((d) => ({ txid: d.txid, vout: d.vout, value: d.value, scriptPubKey: d.scriptPubKey, height: d.blockHeight!, requestId: d.requestId! }));
    const rewardOf = new Map(members.map((m) => [m.peerId, m.rewardAddress]));
    const rewardSrc = nodeRewardSource(ctx);
    const bump = dueForBump(ctx.db, ctx.chainView.tip?.height ?? anchor, ctx.config.custody.bumpAfterBlocks)[0];
    const replace = bump ? { ...bump, rewards: rewardOutputsOf(ctx.db, bump.txid, rewardSrc) } : undefined;
    const ledger = payableLedger(rewardLedger(ctx.db, rewardSrc, ctx.config.custody.rewardMinPayoutSats), rewardOf, rewardSrc, ctx.config.network);
    const leavers = nodeLeavers(ctx, key.epoch);
    return {
      key,
      roundId,
      roundStartMs: roundStart,
      anchorHeight: anchor,
      maxAnchorHeight: maxAnchor,
      requests: requests.map(fromStoredRequest),
      vaultUtxos,
      deposits,
      peers: participants.map((p) => ({ peerId: p.peerId, rewardAddress: rewardOf.get(p.peerId)! })),
      // Without a record of the key's lineage this node cannot tell where leavers are paid (nor read
      // such payouts back): it proposes no reward at all until epoch sync brings the record.
      rewards: leavers === null ? { ...ledger, complete: false } : ledger,
      leavers: [...(leavers ?? [])].map(([peerId, rewardAddress]) => ({ peerId, rewardAddress })),
      excludedTransfers: excludedTransfers(ctx.db),
      lockedOutpoints: lockedOutpoints(ctx.db),
      feeRate: ctx.chainView.feeRate!,
      ...(replace ? { replace } : {}),
    };
  }
}

/**
 * The ledger without the rows of peers whose participant-table reward address is not the one the
 * ledger reads payouts back by (a re-stake seen by one source first): a reward paid there would
 * not be recognised as paid. Such a peer is paid in a later round, once both agree.
 */
export function payableLedger(l: RewardLedgerView, rewardOf: Map<string, string>, src: RewardSource, network: Network): RewardLedgerView {
  const agrees = (peerId: string) => {
    const a = rewardOf.get(peerId);
    if (a === undefined) return true; // not a participant: never paid by this round anyway
    try {
      return addressToScript(a, network) === src.rewardScript(peerId);
    } catch {
      return false;
    }
  };
  return { ...l, rows: l.rows.filter((r) => agrees(r.peerId)) };
}

/** Committee members that are online (admitted, or self), in the key's seniority order. */
export function participantsFor(key: EpochKey, members: StakedMember[]): Participant[] {
  const online = new Set(members.map((m) => m.peerId));
  return key.committee
    .filter((m) => online.has(m.peerId) && key.verifyingShares[m.identifier] !== undefined)
    .map((m) => ({ peerId: m.peerId, identifier: m.identifier, verifyingShare: key.verifyingShares[m.identifier]! }));
}
