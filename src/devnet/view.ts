// The devnet's live view: reads the nodes' HTTP APIs and prints what changed, one line each
// (keygen progress and epochs adopted, then one line per custody round: round id, phase reached,
// threshold set, txid; and transfers moving from pending to confirmed to paid, or back after a
// reorg). It also remembers what it saw (each node's latest transfer states, custody txids) for
// the summary, in case the nodes are gone by then.
import type { ApiClient } from '../cli/client.js';
import { errorMessage } from '../util/errors.js';
import type { NodeKeyState } from './federation.js';
import { mergeTransferState, type TransferSeen } from './summary.js';

export interface ViewNode {
  name: string;
  api: ApiClient;
  peerId: string;
  readonly running: boolean;
}

interface RoundJson {
  roundId: number;
  status: string;
  txid?: string;
  thresholdSet?: string[];
  reason?: string;
  culprits?: string[];
}

interface TimelineJson {
  entries: { phase: string; decision: string }[];
}

/** GET /v1/rewards, the fields the view reads. */
export interface RewardsJson {
  complete: boolean;
  totals: { transfers: number; minerFeesSats: string; poolSats: string; remainderSats: string };
  peers: { peerId: string; accruedSats: string; paidSats: string; inFlightSats: string; balanceSats: string }[];
}

interface TransferJson {
  request: { id: string; amountSats: string };
  state: string;
  txid: string | null;
  confirmations?: number | null;
}

const PROGRESS_EVERY_MS = 5_000;

export class LiveView {
  private epochs = new Map<string, string>();
  private seenRounds = new Set<number>();
  private lastSkip = '';
  private lastProgress = 0;
  private printedStates = new Map<string, string>();
  /** Furthest state per transfer id among the nodes' latest reports (a reorg can take one back). */
  readonly transfers = new Map<string, TransferSeen>();
  /** Latest report per transfer id, per node. */
  private latest = new Map<string, Map<string, TransferSeen>>();
  /** Txids of custody transactions the rounds reported broadcast. */
  readonly txids = new Set<string>();
  /** The last reward ledger read (from the first node that answered). */
  rewards: RewardsJson | null = null;
  private printedPaid = new Map<string, string>();

  constructor(
    private readonly nodes: ViewNode[],
    private readonly out: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  private name(peerId: string): string {
    return this.nodes.find((n) => n.peerId === peerId)?.name ?? peerId.slice(-8);
  }

  /** Called on each poll while keygen runs: epoch adoptions at once, a progress line every few seconds. */
  keygen(states: NodeKeyState[], keygenUntil: Date): void {
    for (const s of states) {
      const tag = s.epoch ? `${s.epoch}:${s.vaultAddress}` : '';
      if (tag && this.epochs.get(s.name) !== tag) {
        this.epochs.set(s.name, tag);
        this.out(`${s.name}: epoch ${s.epoch} key adopted, ${s.threshold}-of-${s.committeeSize}, vault ${s.vaultAddress}`);
      }
    }
    const t = this.now();
    if (t - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = t;
    this.out(keygenProgress(states, keygenUntil, t));
  }

  /** Prints rounds decided and transfer state changes since the last call, read from the first node that answers. */
  async refresh(): Promise<void> {
    let lastError = '';
    for (const node of this.nodes.filter((n) => n.running)) {
      try {
        await this.readRounds(node);
        await this.readTransfers(node);
        await this.readRewards(node).catch(() => undefined); // rewards are extra: a node without them still shows rounds
        return;
      } catch (e) {
        lastError = `${node.name}: ${errorMessage(e)}`;
      }
    }
    this.out(`view: no node API answered${lastError ? ` (last: ${lastError})` : ''}`);
  }

  /** One last read of every node that still answers (rounds and transfers), quietly. */
  async gatherAll(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        try {
          const [rounds, transfers] = await Promise.all([node.api.get<RoundJson[]>('/v1/rounds', { limit: 1000 }), node.api.get<TransferJson[]>('/v1/transfers', { limit: 1000 })]);
          for (const r of rounds) if (r.txid && r.status === 'completed') this.txids.add(r.txid);
          for (const t of transfers) this.note(node, t);
        } catch {
          // a node that is gone already: what the view saw before stands
        }
      }),
    );
  }

  private note(node: ViewNode, t: TransferJson): void {
    const id = t.request.id;
    const byNode = this.latest.get(id) ?? new Map<string, TransferSeen>();
    this.latest.set(id, byNode);
    byNode.set(node.name, { state: t.state, txid: t.txid, confirmations: t.confirmations ?? null });
    const merged = new Map<string, TransferSeen>();
    for (const seen of byNode.values()) mergeTransferState(merged, id, seen);
    this.transfers.set(id, merged.get(id)!);
    if (t.txid) this.txids.add(t.txid);
  }

  private async readRounds(node: ViewNode): Promise<void> {
    const rounds = await node.api.get<RoundJson[]>('/v1/rounds', { limit: 20 });
    for (const r of [...rounds].reverse()) {
      if (r.status === 'running' || this.seenRounds.has(r.roundId)) continue;
      this.seenRounds.add(r.roundId);
      if (r.txid && r.status === 'completed') this.txids.add(r.txid);
      if (r.status === 'skipped') {
        if (r.reason !== this.lastSkip) this.out(`round ${r.roundId}: skipped (${r.reason})`);
        this.lastSkip = r.reason ?? '';
        continue;
      }
      this.lastSkip = '';
      const timeline = await node.api.get<TimelineJson>(`/v1/rounds/${r.roundId}`).catch(() => null);
      this.out(roundLine(r, timeline?.entries.at(-1)?.phase ?? null, (p) => this.name(p)));
    }
  }

  /** One line per peer whose rewards paid (in a block or in flight) changed: the reward outputs. */
  private async readRewards(node: ViewNode): Promise<void> {
    const r = await node.api.get<RewardsJson>('/v1/rewards');
    if (!Array.isArray(r?.peers)) return;
    this.rewards = r;
    for (const p of r.peers) {
      const paid = (BigInt(p.paidSats) + BigInt(p.inFlightSats)).toString();
      const prev = this.printedPaid.get(p.peerId) ?? '0';
      if (prev === paid) continue;
      this.printedPaid.set(p.peerId, paid);
      this.out(`rewards: ${this.name(p.peerId)} paid ${paid} sats in reward outputs (${p.inFlightSats} of them not in a block yet); accrued ${p.accruedSats}, balance ${p.balanceSats}`);
    }
  }

  private async readTransfers(node: ViewNode): Promise<void> {
    const transfers = await node.api.get<TransferJson[]>('/v1/transfers', { limit: 1000 });
    for (const t of transfers) {
      this.note(node, t);
      const seen = this.transfers.get(t.request.id)!;
      const state = seen.state === 'confirmed' && seen.confirmations ? `confirmed (${seen.confirmations} conf)` : seen.state;
      const prev = this.printedStates.get(t.request.id);
      if (prev === state) continue;
      this.printedStates.set(t.request.id, state);
      if (prev !== undefined || seen.state !== 'pending') this.out(`transfer ${t.request.id.slice(0, 8)}: ${prev ?? 'new'} -> ${state}${seen.txid ? ` in ${seen.txid.slice(0, 16)}…` : ''}`);
    }
  }
}

/** `round <id>: <status> phase=<last phase> threshold-set=[...] txid=<txid>` (+ reason and culprits when not completed). */
export function roundLine(r: RoundJson, phase: string | null, name: (peerId: string) => string): string {
  const parts = [`round ${r.roundId}: ${r.status}`];
  if (phase) parts.push(`phase=${phase}`);
  if (r.thresholdSet?.length) parts.push(`threshold-set=[${r.thresholdSet.map(name).join(',')}]`);
  if (r.txid) parts.push(`txid=${r.txid}`);
  if (r.status !== 'completed' && r.reason) parts.push(`(${r.reason})`);
  if (r.culprits?.length) parts.push(`culprits=[${r.culprits.map(name).join(',')}]`);
  return parts.join(' ');
}

/** One line: time to keygen_until, how many nodes hold which key, how many are in a keygen or locked. */
export function keygenProgress(states: NodeKeyState[], keygenUntil: Date, now: number): string {
  const up = states.filter((s) => s.running);
  const withKey = up.filter((s) => s.epoch !== null);
  const newest = withKey.reduce<number | null>((m, s) => (m === null || s.epoch! > m ? s.epoch : m), null);
  const onNewest = withKey.filter((s) => s.epoch === newest).length;
  const inKeygen = up.filter((s) => s.state === 'keygen').length;
  const left = Math.ceil((keygenUntil.getTime() - now) / 1000);
  const head = left > 0 ? `keygen: ${left}s until keygen_until` : `keygen: keygen_until passed, waiting for lock-in (${up.filter((s) => s.locked).length}/${up.length} locked)`;
  const key = newest === null ? `no key yet on ${up.length} nodes` : `epoch ${newest} on ${onNewest}/${up.length} nodes`;
  return `${head}; ${key}; ${inKeygen} in a keygen`;
}
