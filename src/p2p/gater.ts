// Connection gating: who may hold a connection to us.
//
// During the bootstrap grace period (from start) anyone not blocklisted is admitted, so a fresh
// federation can find itself. Afterwards a peer is admitted when `isAdmitted(peerId)` says so
// (it is in the peer table with a valid stake) or, once per `probationCooldownMs`, for a
// probation window of `probationMs` during which it must send a valid ping. Without probation a
// newly staked operator could never introduce itself; with the cooldown an unstaked peer gets
// one short window and is then refused. Blocklisted peers are always refused, and so are peers
// in a test partition (setPartition: the chaos harness cutting a node off from chosen peers).
// A peer that proved a stake here (admitted in this process, or known to the persisted stake
// view) is not a stranger: when it drops out of the peer table (no ping within peerTimeoutMs: a
// frozen process, a stalled event loop, its pings unverifiable while the chain source was down)
// it keeps its connection and its pings are heard until it proves its stake again or is
// blocklisted. Without this, a probation window spent while it could not ping locked honest
// members out of each other for the whole cooldown: a member frozen 40 s was offline for the
// next regroup (issue 13 finding 3), and in the signing e2e on a loaded machine every node lost
// every peer for 10 minutes. These peers are bounded by the stakes on chain.
// Probation records live for the cooldown and no longer; at most `maxProbations` are held, and
// when that many unstaked peers are within their cooldown, new unknown peers are refused until
// records expire (bounded memory; an operator joining then retries after the cooldown).
import type { ConnectionGater, PeerId } from '@libp2p/interface';

export interface GaterOptions {
  graceMs: number;
  probationMs: number;
  probationCooldownMs: number;
  isAdmitted: (peerId: string) => boolean;
  isBlocked: (peerId: string) => boolean;
  /**
   * Whether `peerId` proved a stake here before (the stake view: a valid ping, blocklist ignored).
   * Such a peer is never held to probation (see the header).
   */
  provedStake?: (peerId: string) => boolean;
  /** Most probation records held at once (default 1024). */
  maxProbations?: number;
  now?: () => number;
}

export class AdmissionGate {
  private startedAt: number;
  private readonly probations = new Map<string, number>();
  /** Peers that proved a stake here (see the header). */
  private readonly proven = new Set<string>();
  private partitioned = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly opts: GaterOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
  }

  restart(): void {
    this.startedAt = this.now();
  }

  inGrace(): boolean {
    return this.now() - this.startedAt < this.opts.graceMs;
  }

  /** Test-only: peers to refuse (and evict) until the next call; [] heals the partition. */
  setPartition(peers: Iterable<string>): void {
    this.partitioned = new Set(peers);
  }

  partition(): string[] {
    return [...this.partitioned].sort();
  }

  isPartitioned(peerId: string): boolean {
    return this.partitioned.has(peerId);
  }

  /**
   * A peer that sent a valid ping has proved its stake: its probation record goes. The cooldown is
   * for peers that never proved one; a staked peer that drops out later (its block expired, it
   * restarted, a partition healed) gets a fresh window instead of being refused for the cooldown
   * (found by the chaos harness: a second drop-out within 10 minutes locked a member out).
   */
  admitted(peerId: string): void {
    this.probations.delete(peerId);
    this.proven.add(peerId);
  }

  private proved(peerId: string): boolean {
    return this.proven.has(peerId) || this.opts.provedStake?.(peerId) === true;
  }

  /** Whether `peerId` is within an open probation window (it may send pings, nothing else). */
  inProbation(peerId: string): boolean {
    if (this.proved(peerId)) return true;
    const started = this.probations.get(peerId);
    return started !== undefined && this.now() - started < this.opts.probationMs;
  }

  /** Probation records held (for tests and metrics). */
  get probationCount(): number {
    return this.probations.size;
  }

  /** Drops records past their cooldown. */
  private prune(now: number): void {
    for (const [peer, started] of this.probations) if (now - started >= this.opts.probationCooldownMs) this.probations.delete(peer);
  }

  /** Opens a probation window if there is room; false when the table is full. */
  private openProbation(peerId: string, now: number): boolean {
    if (!this.probations.has(peerId) && this.probations.size >= (this.opts.maxProbations ?? 1024)) {
      this.prune(now);
      if (this.probations.size >= (this.opts.maxProbations ?? 1024)) return false;
    }
    this.probations.set(peerId, now);
    return true;
  }

  /** Decides and, for an unknown peer after grace, opens its probation window. */
  allow(peerId: string): boolean {
    if (this.opts.isBlocked(peerId) || this.partitioned.has(peerId)) return false;
    if (this.inGrace() || this.opts.isAdmitted(peerId) || this.proved(peerId)) return true;
    const now = this.now();
    const started = this.probations.get(peerId);
    if (started === undefined || now - started >= this.opts.probationCooldownMs) return this.openProbation(peerId, now);
    return now - started < this.opts.probationMs;
  }

  /** A connected peer that should now be disconnected (blocked, or probation over and not admitted). */
  shouldEvict(peerId: string): boolean {
    if (this.opts.isBlocked(peerId) || this.partitioned.has(peerId)) return true;
    if (this.inGrace() || this.opts.isAdmitted(peerId) || this.proved(peerId)) return false;
    const started = this.probations.get(peerId);
    if (started === undefined) return !this.openProbation(peerId, this.now());
    return this.now() - started >= this.opts.probationMs;
  }

  /**
   * Inbound connections go through allow(). Outbound ones are refused only for blocked (or
   * partitioned) peers: this node chose to dial them (bootstrap list, staked peers, addresses
   * from pings), and judging its own redials by probation spent the window while a peer still
   * refused us, then refused every redial for the cooldown (found by the chaos harness: a node
   * blocked by all its peers stayed isolated long after the blocks expired). A dialled peer that
   * turns out not to be staked is still evicted when its probation ends (shouldEvict).
   */
  connectionGater(): ConnectionGater {
    const refusedOutbound = (p: PeerId): boolean => this.opts.isBlocked(p.toString()) || this.partitioned.has(p.toString());
    return {
      denyDialPeer: refusedOutbound,
      denyInboundEncryptedConnection: (p) => !this.allow(p.toString()),
      denyOutboundEncryptedConnection: refusedOutbound,
    };
  }
}
