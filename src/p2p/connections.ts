// M-of-N connections (seed 000 §7): no full mesh. Each node keeps at least f + 1 connections to
// staked peers, f = floor((committeeSize - 1) / 3), enough for gossip to reach every honest node
// even if f neighbours lie. Below that it redials known peers (bootstrap list, addresses learnt
// from pings) with exponential backoff per peer, and reports the shortfall.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '../util/log.js';
import type { P2pHost } from './host.js';

export function faultTolerance(committeeSize: number): number {
  return Math.max(0, Math.floor((committeeSize - 1) / 3));
}

export function requiredConnections(committeeSize: number): number {
  return faultTolerance(committeeSize) + 1;
}

export interface ConnectionStatus {
  ok: boolean;
  connectedStaked: number;
  required: number;
  connections: number;
  stakedKnown: number;
}

export interface ConnectionKeeperOptions {
  host: P2pHost;
  bootstrap: string[];
  stakedPeers: () => string[];
  addrsOf: (peerId: string) => string[];
  committeeSize: () => number;
  maxConnections: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  log: Logger;
  onStatus: (s: ConnectionStatus, changed: boolean) => void;
  now?: () => number;
}

interface Backoff {
  next: number;
  delay: number;
}

export class ConnectionKeeper {
  private readonly backoff = new Map<string, Backoff>();
  private readonly dialing = new Set<string>();
  private last?: ConnectionStatus;
  private readonly now: () => number;
  private readonly bootstrapByPeer = new Map<string, Multiaddr>();

  constructor(private readonly o: ConnectionKeeperOptions) {
    this.now = o.now ?? Date.now;
    for (const a of o.bootstrap) {
      const ma = multiaddr(a);
      const id = ma.getPeerId();
      if (!id) throw new Error(`bootstrap address ${a} lacks /p2p/<peer id>`);
      this.bootstrapByPeer.set(id, ma);
    }
  }

  status(): ConnectionStatus {
    const conns = this.o.host.getConnections();
    const connected = new Set(conns.map((c) => c.remotePeer.toString()));
    const staked = this.o.stakedPeers();
    const connectedStaked = staked.filter((p) => connected.has(p)).length;
    const required = requiredConnections(this.o.committeeSize());
    return { ok: connectedStaked >= required, connectedStaked, required, connections: connected.size, stakedKnown: staked.length };
  }

  /** One maintenance pass; never throws. */
  async tick(): Promise<void> {
    try {
      const s = this.status();
      const changed = !this.last || this.last.ok !== s.ok || this.last.connectedStaked !== s.connectedStaked || this.last.required !== s.required;
      this.last = s;
      this.o.onStatus(s, changed);
      if (s.ok && s.stakedKnown > 0) return;
      if (s.connections >= this.o.maxConnections) return;
      const connected = new Set(this.o.host.getConnections().map((c) => c.remotePeer.toString()));
      const self = this.o.host.peerId.toString();
      // Staked peers first, then bootstrap peers (needed before anyone is known).
      const candidates = [...new Set([...this.o.stakedPeers(), ...this.bootstrapByPeer.keys()])].filter(
        (p) => p !== self && !connected.has(p) && !this.dialing.has(p),
      );
      const want = Math.max(1, s.required - s.connectedStaked);
      const budget = Math.min(want, this.o.maxConnections - s.connections);
      const now = this.now();
      let started = 0;
      for (const p of candidates) {
        if (started >= budget) break;
        const b = this.backoff.get(p);
        if (b && b.next > now) continue;
        started++;
        void this.dial(p);
      }
    } catch (e) {
      this.o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'connection maintenance failed');
    }
  }

  private async dial(peer: string): Promise<void> {
    this.dialing.add(peer);
    try {
      const target = this.bootstrapByPeer.get(peer);
      const addrs = this.o.addrsOf(peer);
      if (target) await this.o.host.dial(target, { signal: AbortSignal.timeout(5000) });
      else if (addrs.length > 0) await this.o.host.dial(addrs.map((a) => multiaddr(`${a}/p2p/${peer}`)), { signal: AbortSignal.timeout(5000) });
      else await this.o.host.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(5000) });
      this.backoff.delete(peer);
    } catch (e) {
      const prev = this.backoff.get(peer);
      const delay = Math.min(this.o.maxBackoffMs, prev ? prev.delay * 2 : this.o.baseBackoffMs);
      this.backoff.set(peer, { next: this.now() + delay, delay });
      this.o.log.debug({ peer, delay, err: e instanceof Error ? e.message : String(e) }, 'dial failed');
    } finally {
      this.dialing.delete(peer);
    }
  }

  /** Dials every bootstrap peer once (start-up). */
  async dialBootstrap(): Promise<void> {
    await Promise.all([...this.bootstrapByPeer.keys()].map((p) => this.dial(p)));
  }
}
