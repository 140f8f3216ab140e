// The staked federation as this node's own chain checks found it: one row per peer whose ping
// named a stake that verified, with the time of its last such ping. This is what committee
// computations and the epoch trust rules read (src/node/peers.ts committeePeers). Unlike the
// peer table, it is not shaped by the local blocklist: a block ends connections and gossip from
// a peer, never its seat (DESIGN §4, §8). A peer leaves only when its stake stops verifying
// (moved, too small, another peer's); "not yet visible" or a chain-source error changes nothing.
import type { Seniority } from './peer-table.js';

export interface StakeViewEntry {
  peerId: string;
  seniority: Seniority;
  rewardAddress: string;
  /** Last ping whose stake verified here (ms). */
  lastSeen: number;
  tip: number;
}

export class StakeView {
  private readonly peers = new Map<string, StakeViewEntry>();

  observe(e: StakeViewEntry): void {
    const prev = this.peers.get(e.peerId);
    if (prev && prev.lastSeen > e.lastSeen) return;
    this.peers.set(e.peerId, { ...e, seniority: { ...e.seniority } });
  }

  forget(peerId: string): boolean {
    return this.peers.delete(peerId);
  }

  get(peerId: string): StakeViewEntry | undefined {
    return this.peers.get(peerId);
  }

  list(): StakeViewEntry[] {
    return [...this.peers.values()];
  }
}
