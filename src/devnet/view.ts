// The devnet's live view: reads the nodes' HTTP APIs and prints what changed, one line each
// (epochs adopted, rounds decided, transfers moving from pending to paid).
import type { ApiClient } from '../cli/client.js';
import { errorMessage } from '../util/errors.js';

interface ViewNode {
  name: string;
  api: ApiClient;
  peerId: string;
}

interface StatusJson {
  epoch: number | null;
  vaultAddress: string | null;
  threshold: number | null;
  committeeSize: number | null;
  state: string;
  peers: { admitted: number };
}

interface RoundJson {
  roundId: number;
  status: string;
  txid?: string;
  thresholdSet?: string[];
  reason?: string;
  culprits?: string[];
}

interface TransferJson {
  request: { id: string; amountSats: string };
  state: string;
  txid: string | null;
}

export class LiveView {
  private epochs = new Map<string, string>();
  private seenRounds = new Set<number>();
  private lastSkip = '';
  private transferStates = new Map<string, string>();

  constructor(
    private readonly nodes: ViewNode[],
    private readonly out: (line: string) => void,
  ) {}

  private name(peerId: string): string {
    return this.nodes.find((n) => n.peerId === peerId)?.name ?? peerId.slice(-8);
  }

  private async statuses(): Promise<(StatusJson | null)[]> {
    return Promise.all(this.nodes.map((n) => n.api.get<StatusJson>('/v1/status').catch(() => null)));
  }

  /** Prints epoch adoptions until keygen is over and every node holds the same key. */
  async waitForKey(keygenUntil: Date, deadline: number): Promise<void> {
    this.out(`keygen: epochs run on the keygen schedule until ${keygenUntil.toISOString()}, then the key is locked in`);
    for (;;) {
      const st = await this.statuses();
      st.forEach((s, i) => {
        const n = this.nodes[i]!;
        const tag = s?.epoch ? `${s.epoch}:${s.vaultAddress}` : '';
        if (tag && this.epochs.get(n.name) !== tag) {
          this.epochs.set(n.name, tag);
          this.out(`${n.name}: epoch ${s!.epoch} key adopted, ${s!.threshold}-of-${s!.committeeSize}, vault ${s!.vaultAddress}`);
        }
      });
      const tags = new Set(st.map((s) => (s?.epoch ? `${s.epoch}:${s.vaultAddress}` : 'none')));
      if (Date.now() > keygenUntil.getTime() + 5_000 && tags.size === 1 && !tags.has('none')) {
        const s = st[0]!;
        this.out(`federation ready: epoch ${s.epoch} locked in, vault ${s.vaultAddress}, threshold ${s.threshold} of ${s.committeeSize}`);
        return;
      }
      if (Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  /** Prints rounds decided and transfer state changes since the last call. */
  async refresh(): Promise<void> {
    const first = this.nodes[0]!;
    try {
      const rounds = await first.api.get<RoundJson[]>('/v1/rounds', { limit: 10 });
      for (const r of [...rounds].reverse()) {
        if (r.status === 'running' || this.seenRounds.has(r.roundId)) continue;
        this.seenRounds.add(r.roundId);
        if (r.status === 'skipped') {
          if (r.reason !== this.lastSkip) this.out(`round ${r.roundId}: skipped (${r.reason})`);
          this.lastSkip = r.reason ?? '';
          continue;
        }
        this.lastSkip = '';
        const set = r.thresholdSet?.map((p) => this.name(p)).join(',') ?? '';
        const culprits = r.culprits?.length ? ` culprits=[${r.culprits.map((p) => this.name(p)).join(',')}]` : '';
        this.out(`round ${r.roundId}: ${r.status}${r.txid ? ` txid=${r.txid}` : ''}${set ? ` threshold-set=[${set}]` : ''}${r.status !== 'completed' && r.reason ? ` (${r.reason})` : ''}${culprits}`);
      }
      const transfers = await first.api.get<TransferJson[]>('/v1/transfers', { limit: 200 });
      for (const t of transfers) {
        const prev = this.transferStates.get(t.request.id);
        if (prev === t.state) continue;
        this.transferStates.set(t.request.id, t.state);
        if (prev !== undefined || t.state !== 'pending') {
          this.out(`transfer ${t.request.id.slice(0, 8)}: ${prev ?? 'new'} -> ${t.state}${t.txid ? ` in ${t.txid.slice(0, 16)}…` : ''}`);
        }
      }
    } catch (e) {
      this.out(`view: ${first.name} API: ${errorMessage(e)}`);
    }
  }
}
