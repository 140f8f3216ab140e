// Runs keygen epochs and regroups on this node (DESIGN §4): computes the committee from stake
// and seniority, starts the ceremony driver with network ports, routes the ceremony's gossip
// and direct messages to it, and waits for the outcome (adoption is done by the EpochManager).
import { PeerBuffer } from '../util/peer-buffer.js';
import { z } from 'zod';
import type { CommitteeMember } from '../crypto/types.js';
import { verifyWithPeerId } from '../epochs/attest.js';
import type { Envelope } from '../p2p/envelope.js';
import { registerMessageType, type MessageTypeSpec } from '../p2p/registry.js';
import { computeCommittee, computeRegroupCommittee, selectDealers } from '../rounds/committee.js';
import type { CeremonyDriver, CeremonyPorts } from '../rounds/keygen/driver.js';
import { keygenDirectSpecs, keygenGossipSpecs } from '../rounds/keygen/messages.js';
import { startKeygen, type CeremonyOutcome } from '../rounds/keygen/run.js';
import { regroupDirectSpecs, regroupGossipSpecs } from '../rounds/regroup/messages.js';
import { startRegroup } from '../rounds/regroup/run.js';
import { errorMessage } from '../util/errors.js';
import { roundOf, type NodeContext } from './context.js';
import { committeePeers } from './peers.js';
import { minCommitteeSize } from '../epochs/adoption.js';
import { keyCommittee } from '../epochs/record.js';
import { addressToScript } from '../chain/network.js';
import type { Network } from '../chain/types.js';

// A ceremony keeps its start round for all its messages and may outlast a couple of short
// (devnet) rounds; the generic freshness window would drop its late messages.
const CEREMONY_FRESHNESS = { maxRoundsBehind: 60, maxRoundsAhead: 2 };
const GOSSIP_SPECS = { ...keygenGossipSpecs, ...regroupGossipSpecs };
const DIRECT_SPECS = { ...keygenDirectSpecs, ...regroupDirectSpecs };

let registered = false;
export function registerCeremonyMessageTypes(): void {
  if (registered) return;
  registered = true;
  for (const [type, spec] of Object.entries(GOSSIP_SPECS)) registerMessageType<unknown>(type, { ...(spec as MessageTypeSpec<unknown>), freshness: CEREMONY_FRESHNESS });
}

export interface CeremonyDirectRequest {
  epoch: number;
  round: number;
  payload: unknown;
}

/** The ceremony's direct kinds as the node registers them: each payload wrapped with its (epoch, round). */
export function ceremonyDirectSpecs(): Record<string, { request: z.ZodType<CeremonyDirectRequest>; response: z.ZodType<unknown>; maxRequestBytes: number; maxResponseBytes: number }> {
  return Object.fromEntries(
    Object.entries(DIRECT_SPECS).map(([kind, spec]) => [
      kind,
      {
        request: z.object({ epoch: z.number().int().min(1), round: z.number().int().nonnegative(), payload: spec.request }).strict() as z.ZodType<CeremonyDirectRequest>,
        response: spec.response as z.ZodType<unknown>,
        maxRequestBytes: spec.maxRequestBytes + 256,
        maxResponseBytes: spec.maxResponseBytes,
      },
    ]),
  );
}

export function isCeremonyType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(GOSSIP_SPECS, type) || Object.prototype.hasOwnProperty.call(DIRECT_SPECS, type);
}

interface Active {
  kind: 'keygen' | 'regroup';
  driver: CeremonyDriver<unknown>;
  epoch: number;
  round: number;
}

interface Pending {
  from: string;
  type: string;
  payload: unknown;
  epoch: number;
  round: number;
  at: number;
}

/** Early ceremony messages kept per sender and in all (a member sends a few per ceremony). */
const PENDING_PER_PEER = 100;
const MAX_PENDING = 2_000;
const PENDING_TTL_MS = 120_000;

export class CeremonyRunner {
  private active: Active | null = null;
  private pending = new PeerBuffer<Pending>(PENDING_PER_PEER, MAX_PENDING);
  lastOutcome: (CeremonyOutcome & { kind: 'keygen' | 'regroup'; at: number }) | null = null;

  private readonly startedAt: number;

  constructor(private readonly ctx: NodeContext) {
    this.startedAt = ctx.now();
    registerCeremonyMessageTypes();
    for (const [kind, spec] of Object.entries(ceremonyDirectSpecs())) {
      ctx.network.direct.register(kind, {
        ...spec,
        handler: (from: string, req: CeremonyDirectRequest) => {
          this.deliver({ from, type: kind, payload: req.payload, epoch: req.epoch, round: req.round, at: ctx.now() });
          return { ok: true as const };
        },
      });
    }
  }

  get running(): 'keygen' | 'regroup' | null {
    return this.active?.kind ?? null;
  }

  onEnvelope(env: Envelope): void {
    if (!Object.prototype.hasOwnProperty.call(GOSSIP_SPECS, env.type)) return;
    this.deliver({ from: env.from, type: env.type, payload: env.payload, epoch: env.epoch, round: env.round, at: this.ctx.now() });
  }

  private deliver(m: Pending): void {
    const a = this.active;
    if (a && a.epoch === m.epoch && a.round === m.round) {
      void a.driver.onMessage(m.from, m.type, m.payload);
      return;
    }
    // Peers start a ceremony a few ms apart: keep what arrives before ours starts.
    const cutoff = this.ctx.now() - PENDING_TTL_MS;
    this.pending.retain((p) => p.at >= cutoff);
    this.pending.push(m.from, m);
  }

  private ports(): CeremonyPorts {
    const { ctx } = this;
    return {
      publish: async (type, payload, at) => {
        await ctx.outbound.publish(type, payload, at);
      },
      sendDirect: async (peerId, type, payload, at) => {
        await ctx.outbound.sendDirect(peerId, type, payload, at);
      },
      sign: (bytes) => ctx.privateKey.sign(bytes),
      verify: verifyWithPeerId,
      now: ctx.now,
      log: ctx.log.child({ module: 'ceremony' }),
    };
  }

  private abortCurrent: ((o: CeremonyOutcome) => void) | null = null;

  /** Node shutdown: ends the running ceremony now; it adopts nothing (the old key stays). */
  abort(): void {
    const a = this.active;
    if (!a || !this.abortCurrent) return;
    a.driver.stop();
    this.abortCurrent({ ok: false, epoch: a.epoch, failure: { code: 'ABORTED', message: 'node stopping', culprits: [], detail: {} } });
  }

  private async drive(kind: 'keygen' | 'regroup', started: { driver: CeremonyDriver<any>; epoch: number; outcome: Promise<CeremonyOutcome> }, round: number): Promise<CeremonyOutcome> {
    const { ctx } = this;
    const t0 = ctx.now();
    this.active = { kind, driver: started.driver, epoch: started.epoch, round };
    ctx.activity.state = kind;
    const mine = this.pending.take((p) => p.epoch === started.epoch && p.round === round);
    for (const m of mine) void started.driver.onMessage(m.from, m.type, m.payload);
    try {
      const aborted = new Promise<CeremonyOutcome>((r) => (this.abortCurrent = r));
      const outcome = await Promise.race([started.outcome, aborted]);
      this.lastOutcome = { ...outcome, kind, at: ctx.now() };
      ctx.metrics?.ceremonyDuration.observe({ kind, outcome: outcome.ok ? 'adopted' : 'failed' }, (ctx.now() - t0) / 1000);
      if (outcome.ok) ctx.log.info({ kind, epoch: outcome.record.epoch, vault: outcome.record.vaultAddress }, `${kind} adopted`);
      else ctx.log.warn({ kind, epoch: outcome.epoch, code: outcome.failure.code, culprits: outcome.failure.culprits, reason: outcome.failure.message }, `${kind} failed; previous key stays in force`);
      return outcome;
    } finally {
      started.driver.stop();
      this.abortCurrent = null;
      this.active = null;
      ctx.activity.state = 'idle';
    }
  }

  /** A keygen epoch (while keygen_until has not passed; the scheduler decides that). */
  async keygen(at: Date): Promise<CeremonyOutcome | null> {
    const { ctx } = this;
    if (ctx.manager.isLocked()) return null;
    // Committee inputs: stake (own chain checks) and liveness, never this node's blocklist.
    const offlineBefore = ctx.now() - ctx.config.p2p.peerTimeoutMs;
    const staked = committeePeers(ctx).filter((m) => (m.lastSeenMs ?? 0) >= offlineBefore);
    if (!staked.some((m) => m.peerId === ctx.peerId)) {
      ctx.log.info('keygen: own stake not valid yet; not taking part');
      return null;
    }
    // Every member computes the committee from its own peer table. Right after start, or while
    // peers are still being admitted, two nodes can see different tables and run a keygen among
    // a partial committee; wait until the view has been stable for a few pings.
    const unsettled = this.unsettledFor();
    if (unsettled) {
      ctx.log.info({ reason: unsettled }, 'keygen: peer view not settled; skipping this slot');
      return null;
    }
    const { committee, threshold } = computeCommittee(staked, { max: ctx.config.committee.max, threshold: ctx.config.committee.threshold });
    if (committee.length < minCommitteeSize(ctx.config.network) || threshold < 2) {
      ctx.log.info({ members: committee.length }, 'keygen: too few staked peers for a threshold key');
      return null;
    }
    if (!committee.some((m) => m.peerId === ctx.peerId)) return null;
    const round = roundOf(ctx, at.getTime());
    const started = startKeygen({ ports: this.ports(), manager: ctx.manager, network: ctx.config.network, round, startedAt: round * ctx.roundMs, committee, threshold, rewardAddresses: rewardAddressesOf(staked, committee, ctx.config.network), timeouts: { round1: this.phaseMs(), echo: this.phaseMs(), round2: this.phaseMs(), attest: this.phaseMs() } });
    return this.drive('keygen', started, round);
  }

  /** The daily regroup: reshare the current key to the committee stake and seniority give now. */
  async regroup(at: Date): Promise<CeremonyOutcome | null> {
    const { ctx } = this;
    const cur = ctx.manager.current();
    if (!cur) return null;
    const peers = committeePeers(ctx);
    const old: CommitteeMember[] = keyCommittee(cur.record.committee);
    let plan;
    let dealers: CommitteeMember[];
    try {
      plan = computeRegroupCommittee({
        peers,
        oldCommittee: old,
        now: ctx.now(),
        offlineAfterMs: ctx.config.p2p.peerTimeoutMs,
        violations: ctx.manager.violations(),
        cfg: { max: ctx.config.committee.max, threshold: ctx.config.committee.threshold },
      });
      const online = new Set(peers.filter((p) => ctx.now() - (p.lastSeenMs ?? 0) <= ctx.config.p2p.peerTimeoutMs).map((p) => p.peerId));
      dealers = selectDealers(old, cur.record.threshold, (p) => online.has(p));
    } catch (e) {
      ctx.log.warn({ err: errorMessage(e) }, 'regroup skipped');
      return null;
    }
    const involved = dealers.some((d) => d.peerId === ctx.peerId) || plan.committee.some((m) => m.peerId === ctx.peerId) || old.some((m) => m.peerId === ctx.peerId);
    if (!involved) return null;
    const round = roundOf(ctx, at.getTime());
    try {
      const started = await startRegroup({
        ports: this.ports(),
        manager: ctx.manager,
        network: ctx.config.network,
        round,
        startedAt: round * ctx.roundMs,
        dealers,
        newCommittee: plan.committee,
        newThreshold: plan.threshold,
        rewardAddresses: rewardAddressesOf(peers, plan.committee, ctx.config.network),
        timeouts: { agree: this.phaseMs(), deal: this.phaseMs(), commit: this.phaseMs(), sigshare: this.phaseMs(), attest: this.phaseMs() },
      });
      return await this.drive('regroup', started, round);
    } catch (e) {
      ctx.log.warn({ err: errorMessage(e) }, 'regroup could not start');
      return null;
    }
  }

  /** Why this node's view of the federation is not yet stable enough for a keygen, or null. */
  private unsettledFor(): string | null {
    const { ctx } = this;
    const settleMs = 3 * ctx.config.p2p.pingIntervalMs;
    const upMs = ctx.now() - this.startedAt;
    if (upMs < ctx.config.p2p.peerTimeoutMs) return `up for ${upMs} ms, less than p2p.peerTimeoutMs`;
    const fresh = ctx.network.table.list().filter((e) => ctx.now() - e.firstSeen < settleMs);
    if (fresh.length) return `${fresh.length} peer(s) admitted in the last ${settleMs} ms`;
    return null;
  }

  /**
   * Ceremony phase timeout: a fifth of a round, between 5 s and 20 s. A ceremony owns its slot
   * (signing is skipped meanwhile), so a loaded machine gets slack instead of false culprits.
   */
  private phaseMs(): number {
    return Math.max(5_000, Math.min(20_000, Math.floor(this.ctx.roundMs / 5)));
  }
}

/**
 * Reward address per committee member, from the stake view (each stake's OP_RETURN, verified on
 * chain); members without a valid address for the network are left out (their record entry has
 * none). Members whose views differ compute different plans, and the attempt fails unblamed.
 */
export function rewardAddressesOf(staked: ReadonlyArray<{ peerId: string; rewardAddress: string }>, committee: readonly CommitteeMember[], network: Network): Record<string, string> {
  const inCommittee = new Set(committee.map((m) => m.peerId));
  const out: Record<string, string> = {};
  for (const m of staked) {
    if (!inCommittee.has(m.peerId)) continue;
    try {
      addressToScript(m.rewardAddress, network);
      out[m.peerId] = m.rewardAddress;
    } catch {
      // no entry: paid as a participant only
    }
  }
  return out;
}
