// One node's peer network: libp2p host, validated gossip (envelopes, registry), pings and the
// peer table, blocklist, admission gating, M-of-N connection upkeep, direct streams and the
// transfer-request replication. Everything the rest of the node needs from the network goes
// through this object.
import '../util/polyfill.js';
import { EventEmitter } from 'node:events';
import { TopicValidatorResult, type Message, type PeerId, type PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { Registry } from 'prom-client';
import type { Network } from '../chain/types.js';
import type { Db } from '../store/db.js';
import { silentLogger, type Logger } from '../util/log.js';
import { MetanodeError } from '../util/errors.js';
import type { RequestStore } from '../custody/requests.js';
import { createHost, toPrivateKey, topicScoreParams, type P2pHost } from './host.js';
import { AdmissionGate } from './gater.js';
import { decodeJson, encodeEnvelope, envelopeSchema, PROTOCOL_VERSION, type Envelope } from './envelope.js';
import { defaultRegistry, type MessageRegistry } from './registry.js';
import { SeenCache } from './seen-cache.js';
import { validateMessage } from './validate.js';
import { ignore, type Verdict } from './verdict.js';
import { PING_TYPE, pingPayloadSchema, type NodeState, type PingPayload } from './messages/ping.js';
import { PeerTable, peerTableChecksum, type ChecksumEntry, type PeerEntry } from './peer-table.js';
import { Blocklist, type BlockEntry } from './blocklist.js';
import { StakeView } from './stake-view.js';
import { CachedStakeChecker, type StakeChecker, type StakeVerdict } from './stake-checker.js';
import { judgePing, type ProofChecker, type TssProofContext } from './ping.js';
import { latenessExplainedBySkew, peerSkew, skewStatus, type SkewStatus } from './clock.js';
import { ConnectionKeeper, type ConnectionStatus } from './connections.js';
import { DirectMessenger, type DirectKindSpec } from './direct.js';
import { createP2pMetrics, type P2pMetrics } from './metrics.js';
import { Replicator } from './replication.js';
import { topicName } from './topics.js';
import { DoppelgangerWatch, dbOwnPingStore } from './doppelganger.js';
import { PING_MIRROR_KIND, PingMirror, openMirroredPing, pingMirrorSpec, type MirroredPing } from './ping-mirror.js';
import { GossipRateLimiter } from './rate-limit.js';

export interface P2pNetworkOptions {
  network: Network;
  /** Ed25519 identity key (PrivateKey or libp2p protobuf bytes). */
  privateKey: PrivateKey | Uint8Array;
  db: Db;
  stakeChecker: StakeChecker;
  /** Own stake outpoint "txid:vout". Without it the node listens but does not ping. */
  ownStake?: string;
  listen?: string[];
  announce?: string[];
  /** Multiaddrs with /p2p/<peer id>. */
  bootstrap?: string[];
  metricsRegistry?: Registry;
  log?: Logger;
  proofChecker?: ProofChecker;
  proofRequired?: (peerId: string, epoch: number) => boolean;
  /** tss_proof for our own ping, undefined while we hold no share. */
  makeProof?: (ctx: TssProofContext) => string | undefined;
  /** Our state and chain tip, read at every ping. */
  status?: () => { state: NodeState; tip: number };
  /** Local (epoch, round) used to stamp and to judge freshness. Default: epoch 0, minute rounds. */
  clock?: () => { epoch: number; round: number };
  now?: () => number;
  pingIntervalMs?: number;
  /** Start without pinging (doppelganger listening); startPinging() begins. Default false. */
  silent?: boolean;
  peerTimeoutMs?: number;
  blocklistHours?: number;
  maxSkewMs?: number;
  /** Bootstrap grace: anyone not blocklisted may connect until this long after start. */
  graceMs?: number;
  probationMs?: number;
  probationCooldownMs?: number;
  /** Per-peer, per-topic gossip limit (src/p2p/rate-limit.ts); defaults in the config schema. */
  gossipRate?: { perSecond: number; burst: number };
  /** Committee size for f; default: admitted peers + 1. */
  committeeSize?: () => number;
  maxConnections?: number;
  redialBaseMs?: number;
  redialMaxMs?: number;
  maintenanceIntervalMs?: number;
  stakeTtlMs?: number;
  /** Blocklist senders of malformed/forged/replayed messages (default true). */
  blockOnViolation?: boolean;
  registry?: MessageRegistry;
  heartbeatMs?: number;
  directTimeoutMs?: number;
  validationTimeoutMs?: number;
  /** Transfer-request replication (pull gossip); off when absent. */
  replication?: { store: RequestStore; limit?: number; minDelayMs?: number; maxDelayMs?: number };
}

export interface MessageMeta {
  receivedAt: number;
  /** Peer that relayed it to us (not necessarily the author; the author is env.from). */
  propagationSource: string;
}

export type MessageHandler<P = unknown> = (env: Envelope<P>, meta: MessageMeta) => void | Promise<void>;
export type AsyncValidator<P = unknown> = (env: Envelope<P>) => Verdict | Promise<Verdict>;

export interface P2pEvents {
  'peer:admitted': [PeerEntry];
  'peer:dropped': [{ peerId: string; reason: string }];
  'peer:blocked': [BlockEntry];
  'message:rejected': [{ type: string; reason: string; from?: string }];
  connections: [ConnectionStatus];
  'connections:low': [ConnectionStatus];
  'clock:skew': [SkewStatus];
  /** A ping signed with our own key that this process did not send: another instance runs. */
  doppelganger: [{ clock: number; epoch: number; round: number; via: string }];
}

/** Rejections that are the author's fault and earn a blocklist entry. */
// 'replay' is rejected (and scored) but not blocklisted: StrictSign binds every message to its
// author, so a duplicate can only come from the author re-publishing the same content (a retry),
// which is no attack; blocklisting for it cut honest ceremony members off for 72 h.
const VIOLATIONS = new Set(['not-json', 'not-utf8', 'oversized', 'bad-envelope', 'bad-payload', 'from-mismatch', 'wrong-topic']);

export class P2pNetwork extends EventEmitter<P2pEvents> {
  readonly peerId: string;
  readonly table: PeerTable;
  readonly blocklist: Blocklist;
  /** Staked peers by this node's own checks, blocklist ignored: what committees are computed from. */
  readonly stakeView = new StakeView();
  readonly metrics: P2pMetrics;
  readonly metricsRegistry: Registry;
  readonly direct: DirectMessenger;
  readonly replicator?: Replicator;
  private host?: P2pHost;
  private readonly privateKey: PrivateKey;
  private readonly log: Logger;
  private readonly registry: MessageRegistry;
  private readonly seen = new SeenCache();
  private readonly stake: CachedStakeChecker;
  private readonly gate: AdmissionGate;
  private readonly rate: GossipRateLimiter;
  private keeper?: ConnectionKeeper;
  private readonly handlers = new Map<string, Set<MessageHandler<any>>>();
  private readonly validators = new Map<string, AsyncValidator<any>[]>();
  private readonly subscribedTopics = new Set<string>();
  private readonly addrBook = new Map<string, string[]>();
  private readonly timers: NodeJS.Timeout[] = [];
  private selfStake?: StakeVerdict;
  private selfStakeAt?: number;
  private lastConnStatus?: ConnectionStatus;
  private started = false;
  private pinging: boolean;
  private readonly doppelganger: DoppelgangerWatch;
  private readonly mirror = new PingMirror();
  private readonly now: () => number;
  private readonly o: P2pNetworkOptions;

  constructor(opts: P2pNetworkOptions) {
    super();
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.pinging = !opts.silent;
    this.privateKey = toPrivateKey(opts.privateKey);
    this.peerId = peerIdFromPrivateKey(this.privateKey as any).toString();
    this.log = (opts.log ?? silentLogger).child({ module: 'p2p' });
    this.doppelganger = new DoppelgangerWatch(this.peerId, dbOwnPingStore(opts.db));
    this.registry = opts.registry ?? defaultRegistry;
    this.metricsRegistry = opts.metricsRegistry ?? new Registry();
    this.metrics = createP2pMetrics(this.metricsRegistry);
    this.table = new PeerTable(opts.db);
    // Stakes verified before a restart (the persisted table) count until a ping says otherwise.
    for (const e of this.table.list()) this.observeStake(e);
    this.blocklist = new Blocklist(opts.db, this.now);
    this.stake = new CachedStakeChecker(opts.stakeChecker, opts.stakeTtlMs ?? 60_000, 10_000, this.now);
    this.gate = new AdmissionGate({
      graceMs: opts.graceMs ?? 60_000,
      probationMs: opts.probationMs ?? 15_000,
      probationCooldownMs: opts.probationCooldownMs ?? 10 * 60_000,
      isAdmitted: (p) => this.table.has(p),
      isBlocked: (p) => this.blocklist.isBlocked(p),
      provedStake: (p) => this.stakeView.get(p) !== undefined,
      now: this.now,
    });
    this.rate = new GossipRateLimiter({ perSecond: opts.gossipRate?.perSecond ?? 100, burst: opts.gossipRate?.burst ?? 1000, now: this.now });
    this.direct = new DirectMessenger({
      network: opts.network,
      timeoutMs: opts.directTimeoutMs,
      log: this.log,
      metrics: this.metrics,
      isBlocked: (p) => this.blocklist.isBlocked(p),
      onViolation: (p, reason) => this.reportViolation(p, reason, 'direct stream'),
      addrsOf: (p) => this.addrBook.get(p) ?? [],
    });
    this.direct.register(PING_MIRROR_KIND, { ...pingMirrorSpec, handler: (from) => ({ ping: this.mirror.get(from) }) });
    if (opts.replication) {
      this.replicator = new Replicator({
        db: opts.db,
        store: opts.replication.store,
        direct: this.direct,
        peers: () => this.replicationPeers(),
        limit: opts.replication.limit,
        minDelayMs: opts.replication.minDelayMs,
        maxDelayMs: opts.replication.maxDelayMs,
        report: (p, reason, detail) => this.reportViolation(p, reason, detail),
        log: this.log,
        metrics: this.metrics,
      });
    }
  }

  private get pingIntervalMs(): number {
    return this.o.pingIntervalMs ?? 3000;
  }

  private localClock(): { epoch: number; round: number } {
    if (this.o.clock) return this.o.clock();
    return { epoch: 0, round: Math.floor(this.now() / 60_000) };
  }

  async start(): Promise<void> {
    if (this.started) return;
    const scored = this.registry.topics().map((t) => topicName(this.o.network, t));
    this.host = await createHost({
      privateKey: this.privateKey,
      listen: this.o.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      announce: this.o.announce,
      connectionGater: this.gate.connectionGater(),
      maxConnections: this.o.maxConnections,
      scoredTopics: scored,
      appScore: (p) => this.rate.score(p),
      heartbeatMs: this.o.heartbeatMs,
      ...(this.o.metricsRegistry ? { metricsRegistry: this.o.metricsRegistry } : {}),
    });
    this.gate.restart();
    await this.host.start();
    this.started = true;
    for (const t of this.registry.topics()) this.ensureTopic(t);
    await this.direct.start(this.host);
    this.keeper = new ConnectionKeeper({
      host: this.host,
      bootstrap: this.o.bootstrap ?? [],
      stakedPeers: () => this.table.list().map((e) => e.peerId),
      addrsOf: (p) => this.addrBook.get(p) ?? [],
      committeeSize: () => this.o.committeeSize?.() ?? this.table.size + 1,
      maxConnections: this.o.maxConnections ?? 100,
      baseBackoffMs: this.o.redialBaseMs ?? 1000,
      maxBackoffMs: this.o.redialMaxMs ?? 60_000,
      log: this.log,
      onStatus: (s, changed) => this.onConnectionStatus(s, changed),
      now: this.now,
    });
    this.host.addEventListener('connection:open', () => this.metrics.connections.set(this.host?.getConnections().length ?? 0));
    this.host.addEventListener('connection:close', () => this.metrics.connections.set(this.host?.getConnections().length ?? 0));
    await this.checkOwnStake();
    void this.keeper.dialBootstrap();
    this.every(this.pingIntervalMs, () => this.sendPing());
    this.every(this.o.maintenanceIntervalMs ?? Math.min(this.pingIntervalMs, 1000), () => this.maintain());
    this.replicator?.start();
    this.log.info({ peerId: this.peerId, addrs: this.multiaddrs() }, 'p2p started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.replicator?.stop();
    await this.direct.stop();
    await this.host?.stop();
    this.host = undefined;
  }

  private every(ms: number, fn: () => Promise<void> | void): void {
    const t = setInterval(() => {
      Promise.resolve()
        .then(fn)
        .catch((e) => this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'p2p periodic task failed'));
    }, ms);
    t.unref?.();
    this.timers.push(t);
  }

  get libp2p(): P2pHost {
    if (!this.host) throw new MetanodeError('ABORTED', 'p2p network not started');
    return this.host;
  }

  multiaddrs(): string[] {
    return this.host?.getMultiaddrs().map((m) => m.toString()) ?? [];
  }

  /** Peer ids we hold an open connection to. */
  connectedPeers(): string[] {
    return [...new Set(this.host?.getConnections().map((c) => c.remotePeer.toString()) ?? [])];
  }

  // ---- gossip -------------------------------------------------------------------------------

  private ensureTopic(short: string): void {
    if (!this.host || this.subscribedTopics.has(short)) return;
    const full = topicName(this.o.network, short);
    const ps = this.host.services.pubsub;
    const topics = (ps.score.params as { topics: Record<string, unknown> }).topics;
    if (!topics[full]) topics[full] = topicScoreParams();
    ps.topicValidators.set(full, (src, msg) => this.validateGossip(short, src, msg));
    ps.subscribe(full);
    this.subscribedTopics.add(short);
  }

  /** Subscribes to a registered message type; returns the unsubscribe function. */
  subscribe<P>(type: string, handler: MessageHandler<P>): () => void {
    const spec = this.registry.get(type);
    if (!spec) throw new MetanodeError('INVALID_INPUT', `message type ${type} is not registered`);
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler as MessageHandler<any>);
    this.ensureTopic(spec.topic);
    return () => set!.delete(handler as MessageHandler<any>);
  }

  /** Adds an async check for a type (runs after the generic checks, before handlers). */
  addValidator<P>(type: string, fn: AsyncValidator<P>): void {
    const list = this.validators.get(type) ?? [];
    list.push(fn as AsyncValidator<any>);
    this.validators.set(type, list);
  }

  /** Publishes `payload` as a `type` message; returns how many peers it was sent to. */
  async publish<P>(type: string, payload: P, at?: { epoch?: number; round?: number }): Promise<number> {
    const spec = this.registry.get(type);
    if (!spec) throw new MetanodeError('INVALID_INPUT', `message type ${type} is not registered`);
    const parsed = spec.schema.safeParse(payload);
    if (!parsed.success) throw new MetanodeError('INVALID_MESSAGE', `own ${type} payload fails its schema: ${parsed.error.message}`);
    const clock = this.localClock();
    const env: Envelope<P> = {
      version: PROTOCOL_VERSION,
      network: this.o.network,
      epoch: at?.epoch ?? clock.epoch,
      round: at?.round ?? clock.round,
      type,
      from: this.peerId,
      payload,
    };
    const bytes = encodeEnvelope(env);
    if (bytes.length > spec.maxBytes) throw new MetanodeError('INVALID_MESSAGE', `own ${type} message is ${bytes.length} bytes, limit ${spec.maxBytes}`);
    this.ensureTopic(spec.topic);
    const res = await this.libp2p.services.pubsub.publish(topicName(this.o.network, spec.topic), bytes);
    return res.recipients.length;
  }

  /**
   * Test-only (the chaos harness's partitions): refuses and closes every connection to `peers`
   * until called again; [] restores them (the connection keeper redials as usual).
   */
  async setPartition(peers: string[]): Promise<void> {
    this.gate.setPartition(peers);
    this.log.warn({ peers }, peers.length ? 'test partition: connections to these peers cut' : 'test partition healed');
    const host = this.host;
    if (!host) return;
    const cut = [...new Set(host.getConnections().map((c) => c.remotePeer).filter((p) => this.gate.isPartitioned(p.toString())))];
    // Bounded: a hang-up that does not finish does not hold the caller (the gater already refuses).
    await Promise.race([Promise.all(cut.map((p) => host.hangUp(p).catch(() => {}))), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  partition(): string[] {
    return this.gate.partition();
  }

  private async validateGossip(short: string, src: PeerId, msg: Message): Promise<TopicValidatorResult> {
    let type = 'unknown';
    const from = msg.type === 'signed' ? msg.from.toString() : undefined;
    try {
      // Per-peer, per-topic rate: the neighbour that sent it too fast loses score; the excess is
      // dropped before any parsing and never relayed.
      if (!this.rate.allow(src.toString(), short)) {
        this.count(type, ignore('rate-limited'), from);
        return TopicValidatorResult.Ignore;
      }
      const clock = this.localClock();
      const out = validateMessage(msg.data, from, short, {
        network: this.o.network,
        localEpoch: clock.epoch,
        localRound: clock.round,
        registry: this.registry,
        seen: this.seen,
        blockedReason: (p) => this.blocklist.get(p)?.reason,
        senderStanding: (p) => this.senderStanding(p, src.toString()),
      });
      type = out.type ?? 'unknown';
      if (from && out.verdict.result === 'ignore' && out.verdict.reason === 'blocklisted') await this.observeBlockedPing(msg.data, from, short);
      let verdict = out.verdict;
      const receivedAt = this.now();
      let pingEntry: PeerEntry | undefined;
      if (verdict.result === 'accept' && out.envelope && out.envelope.type === PING_TYPE && from === this.peerId) {
        // Our own identity: never admitted to our table; another instance if we did not send it.
        const env = out.envelope as Envelope<PingPayload>;
        if (this.doppelganger.isDoppelganger(env)) {
          this.log.fatal({ clock: env.payload.clock, via: src.toString() }, 'DOPPELGANGER: a ping signed with this node\'s key that this process did not send');
          this.emit('doppelganger', { clock: env.payload.clock, epoch: env.epoch, round: env.round, via: src.toString() });
        }
        verdict = ignore('own-peer-id');
      }
      if (verdict.result === 'accept' && out.envelope) {
        if (out.envelope.type === PING_TYPE) {
          const j = await this.judgePing(out.envelope as Envelope<PingPayload>, receivedAt);
          if (j === undefined) verdict = ignore('validation-timeout');
          else {
            verdict = j.verdict;
            pingEntry = j.entry;
            if (j.unstaked && from) this.stakeView.forget(from);
            if (j.block && from) this.block(from, j.block.reason, j.block.detail);
            // The stake and proof checks are asynchronous: the sender may have been blocked
            // meanwhile (e.g. named in a round), and a blocked peer must not re-enter the table.
            const blockedMeanwhile = from ? this.blocklist.get(from)?.reason : undefined;
            if (verdict.result === 'accept' && blockedMeanwhile !== undefined) verdict = ignore('blocklisted');
          }
        }
        for (const v of this.validators.get(type) ?? []) {
          if (verdict.result !== 'accept') break;
          const r = await this.withTimeout(Promise.resolve().then(() => v(out.envelope!)));
          verdict = r ?? ignore('validation-timeout');
        }
      }
      this.count(type, verdict, from);
      if (verdict.result === 'reject' && from && VIOLATIONS.has(verdict.reason) && (this.o.blockOnViolation ?? true)) {
        this.block(from, `message-${verdict.reason}`, `${type} message`);
      }
      if (verdict.result !== 'accept') return verdict.result === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
      this.seen.add(out.digest!);
      const env = out.envelope!;
      if (pingEntry) {
        this.admit(pingEntry, (env.payload as PingPayload).addrs);
        if (msg.type === 'signed') this.mirror.note(pingEntry.peerId, (env.payload as PingPayload).clock, msg);
      }
      const meta: MessageMeta = { receivedAt, propagationSource: src.toString() };
      setImmediate(() => this.dispatch(env, meta));
      return TopicValidatorResult.Accept;
    } catch (e) {
      this.log.warn({ type, err: e instanceof Error ? e.message : String(e) }, 'gossip validation failed');
      this.count(type, ignore('validator-error'), from);
      return TopicValidatorResult.Ignore;
    }
  }

  /**
   * A blocklisted peer's ping (relayed by others: we hang up on the peer itself) is neither
   * relayed nor admitted, but when its stake and proof verify it still counts as the peer being
   * alive and staked for committee inputs (the stake view): a local block never costs a seat.
   */
  private async observeBlockedPing(bytes: Uint8Array, from: string, short: string): Promise<void> {
    const clock = this.localClock();
    const out = validateMessage(bytes, from, short, {
      network: this.o.network,
      localEpoch: clock.epoch,
      localRound: clock.round,
      registry: this.registry,
      seen: this.seen,
      blockedReason: () => undefined,
    });
    if (out.verdict.result !== 'accept' || out.envelope?.type !== PING_TYPE) return;
    const j = await this.judgePing(out.envelope as Envelope<PingPayload>, this.now());
    if (j?.entry) this.observeStake(j.entry);
    else if (j?.unstaked) this.stakeView.forget(from);
  }

  private judgePing(env: Envelope<PingPayload>, receivedAt: number) {
    return this.withTimeout(
      judgePing(env, receivedAt, { network: this.o.network, stakeChecker: this.stake, proofChecker: this.o.proofChecker, proofRequired: this.o.proofRequired, table: this.table, now: this.now }),
    );
  }

  private observeStake(e: PeerEntry): void {
    this.stakeView.observe({ peerId: e.peerId, seniority: e.seniority, rewardAddress: e.rewardAddress, lastSeen: e.lastSeen, tip: e.tip });
  }

  /**
   * Who may be heard: a staked author (in the peer table) with anything; an author outside it
   * only with pings (which prove a stake or are dropped), and only while it is on probation here
   * (or during the bootstrap grace) or when a staked neighbour relayed the ping (that neighbour
   * admitted the author on its stake; this keeps sparse federations, where a peer's pings reach
   * us only through others, working). Anything else from outside the table is dropped unrelayed.
   */
  private senderStanding(author: string, via: string): 'staked' | 'probation' | 'outsider' {
    if (this.table.has(author)) return 'staked';
    if (this.gate.inGrace() || this.gate.inProbation(author) || (via !== author && this.table.has(via))) return 'probation';
    return 'outsider';
  }

  private async withTimeout<T>(p: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.o.validationTimeoutMs ?? 5000);
    });
    try {
      return await Promise.race([p, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  private count(type: string, v: Verdict, from?: string): void {
    if (v.result === 'accept') this.metrics.messagesAccepted.inc({ type });
    else if (v.result === 'reject') {
      this.metrics.messagesRejected.inc({ type, reason: v.reason });
      this.log.info({ type, reason: v.reason, from }, 'message rejected');
      this.emit('message:rejected', { type, reason: v.reason, from });
    } else this.metrics.messagesIgnored.inc({ type, reason: v.reason });
  }

  private dispatch(env: Envelope, meta: MessageMeta): void {
    for (const h of this.handlers.get(env.type) ?? []) {
      try {
        Promise.resolve(h(env, meta)).catch((e) => this.log.warn({ type: env.type, err: e instanceof Error ? e.message : String(e) }, 'message handler failed'));
      } catch (e) {
        this.log.warn({ type: env.type, err: e instanceof Error ? e.message : String(e) }, 'message handler failed');
      }
    }
  }

  // ---- peers, blocklist -----------------------------------------------------------------------

  private admit(entry: PeerEntry, addrs?: string[]): void {
    const isNew = !this.table.has(entry.peerId);
    this.table.upsert(entry);
    this.observeStake(entry);
    this.gate.admitted(entry.peerId);
    if (addrs?.length) this.addrBook.set(entry.peerId, addrs.filter((a) => !a.includes('/p2p/')).slice(0, 8));
    this.metrics.peers.set(this.table.size);
    if (isNew) {
      this.log.info({ peer: entry.peerId, seniority: entry.seniority }, 'peer admitted');
      this.emit('peer:admitted', entry);
    }
  }

  /** Blocklists a peer for `hours` (default `blocklistHours`), drops it from the table and hangs up. */
  block(peerId: string, reason: string, detail: string, hours?: number): BlockEntry {
    const already = this.blocklist.get(peerId);
    const entry = this.blocklist.block(peerId, reason, detail, hours ?? this.o.blocklistHours ?? 72);
    if (!already) {
      this.metrics.peersBlocklisted.inc({ reason });
      this.log.warn({ peer: peerId, reason, detail }, 'peer blocklisted');
      this.emit('peer:blocked', entry);
    }
    if (this.table.remove(peerId)) {
      this.metrics.peers.set(this.table.size);
      this.emit('peer:dropped', { peerId, reason: 'blocked' });
    }
    this.stake.invalidate(peerId);
    if (this.host) {
      try {
        void this.host.hangUp(peerIdFromString(peerId)).catch(() => {});
      } catch {
        // not a parseable peer id: nothing to hang up
      }
    }
    return entry;
  }

  /** For other modules: a peer broke the protocol (bad share, equivocation, ...). */
  reportViolation(peerId: string, reason: string, detail: string): void {
    if (peerId === this.peerId) return;
    this.block(peerId, reason, detail);
  }

  /** Admitted peers in seniority order. */
  peers(): PeerEntry[] {
    return this.table.list();
  }

  /** Participant table for checksums: admitted peers plus ourselves if our stake is valid. */
  participants(): ChecksumEntry[] {
    const list: ChecksumEntry[] = this.table.list().map((e) => ({ peerId: e.peerId, stakeOutpoint: e.stakeOutpoint, seniority: e.seniority, rewardAddress: e.rewardAddress }));
    const s = this.selfStake;
    if (s?.valid && this.o.ownStake) list.push({ peerId: this.peerId, stakeOutpoint: this.o.ownStake, seniority: s.seniority, rewardAddress: s.rewardAddress });
    return list;
  }

  peerTableChecksum(): string {
    return peerTableChecksum(this.participants());
  }

  ownStakeVerdict(): StakeVerdict | undefined {
    return this.selfStake;
  }

  /** When our own stake was last judged (unix ms). */
  ownStakeCheckedAt(): number | undefined {
    return this.selfStakeAt;
  }

  clockSkewStatus(): SkewStatus {
    return skewStatus(this.table.list().map((e) => e.clockOffsetMs), this.o.maxSkewMs ?? 2000);
  }

  /** Whether `peerId` arriving `lateByMs` late is explained by its clock lagging the network. */
  latenessExplainedBySkew(peerId: string, lateByMs: number): boolean {
    const e = this.table.get(peerId);
    if (!e) return false;
    return latenessExplainedBySkew(peerSkew(e.clockOffsetMs, this.table.list().map((x) => x.clockOffsetMs)), lateByMs);
  }

  connectionStatus(): ConnectionStatus | undefined {
    return this.keeper?.status();
  }

  // ---- direct ---------------------------------------------------------------------------------

  registerDirect<Req, Res>(kind: string, spec: DirectKindSpec<Req, Res>): void {
    this.direct.register(kind, spec);
  }

  request<Req, Res>(peerId: string, kind: string, payload: Req, opts?: { timeoutMs?: number }): Promise<Res> {
    return this.direct.request<Req, Res>(peerId, kind, payload, opts);
  }

  /**
   * Asks every connected peer for the newest ping it holds signed with our key
   * (src/p2p/ping-mirror.ts). One this process did not send, stamped after it started, means a
   * second instance runs with our identity: the 'doppelganger' event, as for a ping heard by
   * gossip. Returns how many peers answered. A mirror that answers with a bad signature or a
   * malformed ping is ignored (it cannot forge ours; the worst it can do is withhold).
   */
  async askPingMirrors(timeoutMs = 5_000): Promise<{ asked: number; answered: number; doppelganger: boolean }> {
    const host = this.host;
    if (!host) return { asked: 0, answered: 0, doppelganger: false };
    const self = peerIdFromPrivateKey(this.privateKey as any);
    const peers = [...new Set(host.getConnections().map((c) => c.remotePeer.toString()))].filter((p) => p !== this.peerId && !this.blocklist.isBlocked(p));
    const answers = await Promise.allSettled(peers.map((p) => this.direct.request<Record<string, never>, { ping: MirroredPing | null }>(p, PING_MIRROR_KIND, {}, { timeoutMs })));
    let answered = 0;
    for (const [i, a] of answers.entries()) {
      if (a.status !== 'fulfilled') continue;
      answered++;
      const via = peers[i]!;
      if (!a.value.ping) continue;
      const data = await openMirroredPing(self, a.value.ping);
      if (!data) {
        this.log.warn({ via }, 'a peer handed back a ping of ours whose signature does not verify');
        continue;
      }
      const env = ownPingOf(data, this.peerId, this.o.network);
      if (env && this.doppelganger.isDoppelganger(env)) {
        this.log.fatal({ clock: env.payload.clock, via }, 'DOPPELGANGER: a peer holds a ping signed with this node\'s key that this process did not send');
        this.emit('doppelganger', { clock: env.payload.clock, epoch: env.epoch, round: env.round, via });
        return { asked: peers.length, answered, doppelganger: true };
      }
    }
    return { asked: peers.length, answered, doppelganger: false };
  }

  // ---- periodic -------------------------------------------------------------------------------

  /** Whether our pings go out (false while listening for a doppelganger). */
  get isPinging(): boolean {
    return this.pinging;
  }

  /** Ends the silent start: pings go out from now on. */
  startPinging(): void {
    if (this.pinging) return;
    this.pinging = true;
    void this.sendPing().catch((e) => this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'ping failed'));
  }

  private async sendPing(): Promise<void> {
    if (!this.host || !this.o.ownStake || !this.pinging) return;
    const clock = this.localClock();
    const st = this.o.status?.() ?? { state: 'idle' as NodeState, tip: 0 };
    let proof: string | undefined;
    try {
      proof = this.o.makeProof?.({ network: this.o.network, epoch: clock.epoch, peerId: this.peerId, round: clock.round });
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'cannot create tss_proof');
    }
    const addrs = this.multiaddrs()
      .map((a) => a.replace(/\/p2p\/[^/]+$/, ''))
      .slice(0, 8);
    const payload: PingPayload = { status: 'ok', state: st.state, stake: this.o.ownStake, clock: this.now(), tip: st.tip, addrs };
    if (proof !== undefined) payload.tss_proof = proof;
    this.doppelganger.noteSent(payload.clock, this.now());
    await this.publish(PING_TYPE, payload, clock);
  }

  private async checkOwnStake(): Promise<void> {
    if (!this.o.ownStake) return;
    const v = await this.stake.check(this.peerId, this.o.ownStake);
    if (!v.valid && (!this.selfStake || this.selfStake.valid)) this.log.error({ reason: v.reason, detail: v.detail }, 'own stake is not valid: peers will refuse this node');
    this.selfStake = v;
    this.selfStakeAt = this.now();
  }

  private async maintain(): Promise<void> {
    if (!this.host) return;
    const now = this.now();
    for (const id of this.table.expire(now - (this.o.peerTimeoutMs ?? 10_000))) {
      this.log.info({ peer: id }, 'peer dropped: no ping');
      this.addrBook.delete(id);
      this.mirror.forget(id);
      this.emit('peer:dropped', { peerId: id, reason: 'timeout' });
    }
    this.metrics.peers.set(this.table.size);
    for (const c of this.host.getConnections()) {
      const id = c.remotePeer.toString();
      if (this.gate.shouldEvict(id)) {
        this.log.info({ peer: id }, 'closing connection to a peer that is not admitted');
        await c.close().catch(() => {});
      }
    }
    await this.keeper?.tick();
    const skew = this.clockSkewStatus();
    if (!skew.ok) {
      this.log.warn({ ownOffsetMs: skew.ownOffsetMs, maxSkewMs: skew.maxSkewMs, peers: skew.peers }, 'LOCAL CLOCK IS SKEWED relative to the peer median: fix NTP');
      this.emit('clock:skew', skew);
    }
    await this.checkOwnStake();
  }

  private onConnectionStatus(s: ConnectionStatus, changed: boolean): void {
    this.lastConnStatus = s;
    if (!changed) return;
    this.emit('connections', s);
    if (!s.ok) {
      this.log.warn({ have: s.connectedStaked, need: s.required }, 'fewer connections to staked peers than f+1');
      this.emit('connections:low', s);
    }
  }

  /** Peers to replicate from: admitted and connected first; any admitted otherwise. */
  private replicationPeers(): string[] {
    const connected = new Set(this.connectedPeers());
    const admitted = this.table.list().map((e) => e.peerId);
    const both = admitted.filter((p) => connected.has(p));
    return both.length > 0 ? both : admitted;
  }
}

/** The ping envelope in `data` when it is one of `self`'s on `network`; null for anything else. */
function ownPingOf(data: Uint8Array, self: string, network: string): Envelope<PingPayload> | null {
  const decoded = decodeJson(data);
  if (!decoded.ok) return null;
  const env = envelopeSchema.safeParse(decoded.value);
  if (!env.success || env.data.type !== PING_TYPE || env.data.from !== self || env.data.network !== network) return null;
  const payload = pingPayloadSchema.safeParse(env.data.payload);
  return payload.success ? { ...env.data, payload: payload.data } : null;
}
