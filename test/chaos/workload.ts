// The chaos run's workload and its view of the federation: transfers requested at healthy nodes
// (with their deposits paid), whether the chain has paid them, quiet points between faults, and
// the seniority order the nodes agree on.
import type { ProcessFederation, ProcNode } from '../../src/devnet/federation.js';
import { addressToScript } from '../../src/chain/network.js';
import { errorMessage } from '../../src/util/errors.js';

export interface Transfer {
  id: string;
  /** Payout scriptPubKey: a confirmed output to it means paid (addresses are fresh per request). */
  script: string;
  amount: number;
  at: string;
  requestedAt: number;
  paidAt: number | null;
}

type PeerRow = { peerId: string; admitted: boolean; blockedUntil: number | null; stake: { txid: string; height: number } | null };

export class Workload {
  readonly transfers: Transfer[] = [];
  /** Node indices not to send work to right now (down, cut off, misbehaving). */
  readonly excluded = new Set<number>();
  private rr = 0;

  constructor(
    private readonly fed: ProcessFederation,
    private readonly out: (line: string) => void,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  private peersOf(x: ProcNode): Promise<PeerRow[] | null> {
    return x.api.get<PeerRow[]>('/v1/peers').catch(() => null);
  }

  /**
   * A node the others still block (a culprit whose block has not expired) cannot get its
   * requests replicated: work goes to nodes another node admits and does not block.
   */
  private async admittedByOthers(x: ProcNode): Promise<boolean> {
    const other = this.fed.nodes.find((o) => o !== x && o.running && !this.excluded.has(o.index));
    if (!other) return true;
    const e = (await this.peersOf(other))?.find((p) => p.peerId === x.peerId);
    return e !== undefined && e.admitted && (e.blockedUntil === null || e.blockedUntil < Date.now());
  }

  /** A transfer with its deposit at the next healthy node (round robin); null when none took it. */
  async request(tag: string): Promise<Transfer | null> {
    const all = this.fed.nodes.filter((x) => x.running && !this.excluded.has(x.index));
    const ok = await Promise.all(all.map((x) => this.admittedByOthers(x)));
    const preferred = all.filter((_x, k) => ok[k]);
    const candidates = preferred.length ? preferred : all;
    for (let k = 0; k < candidates.length; k++) {
      const at = candidates[(this.rr++ + k) % candidates.length]!;
      try {
        const amount = 30_000 + this.transfers.length * 1_000;
        const t = await this.fed.requestTransfer(at, amount);
        const rec: Transfer = { id: t.id, script: addressToScript(t.payoutAddress, 'regtest'), amount, at: at.name, requestedAt: Date.now(), paidAt: null };
        this.transfers.push(rec);
        this.out(`transfer ${t.id.slice(0, 8)} (${tag}) requested at ${at.name}: ${amount} sats`);
        return rec;
      } catch (e) {
        this.out(`transfer (${tag}) at ${at.name} failed: ${errorMessage(e)}`);
      }
    }
    return null;
  }

  async refreshPaid(): Promise<void> {
    const paid = new Set((await this.fed.faucet.utxos()).utxos.filter((u) => u.confirmed).map((u) => u.scriptPubKey));
    for (const t of this.transfers) {
      if (t.paidAt === null && paid.has(t.script)) t.paidAt = Date.now();
      else if (t.paidAt !== null && !paid.has(t.script)) t.paidAt = null; // a reorg took the payout away
    }
  }

  async waitPaid(t: Transfer, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      await this.refreshPaid();
      if (t.paidAt !== null) return true;
      await this.sleep(500);
    }
    return false;
  }

  async drain(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.transfers.some((t) => t.paidAt === null) && Date.now() < end) {
      await this.refreshPaid();
      await this.sleep(1_000);
    }
    await this.refreshPaid();
  }

  /** A quiet point: every running node admits every other running node and blocks none of them. */
  async quiet(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const running = this.fed.nodes.filter((x) => x.running);
      const views = await Promise.all(running.map((x) => this.peersOf(x)));
      const ok = views.every(
        (v, k) => v !== null && running.every((o) => o === running[k] || v.some((p) => p.peerId === o.peerId && p.admitted && (p.blockedUntil === null || p.blockedUntil < Date.now()))),
      );
      if (ok) return true;
      await this.sleep(1_000);
    }
    return false;
  }

  /** Peer ids in seniority order (stake height, then txid), as the nodes rank them. */
  async seniorityOrder(): Promise<string[]> {
    const stakes = new Map<string, { height: number; txid: string }>();
    for (const x of this.fed.nodes.filter((y) => y.running).slice(0, 2)) {
      for (const p of (await this.peersOf(x)) ?? []) if (p.stake) stakes.set(p.peerId, p.stake);
    }
    return [...stakes.entries()].sort((a, b) => a[1].height - b[1].height || (a[1].txid < b[1].txid ? -1 : 1)).map(([id]) => id);
  }
}
