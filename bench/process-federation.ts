// What the multi-process benchmarks share: a process federation with benchmark settings (ports
// 49000-49999, its own temp dir, progress on stderr), polling helpers, reading the round log over
// the node API, and a description of the machine the figures come from.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startProcessFederation, type ProcessFederation } from '../src/devnet/federation.js';
import { deepMerge } from '../src/devnet/node-config.js';

export const log = (s: string) => process.stderr.write(s + '\n');

export interface Machine {
  cpus: number;
  model: string;
  memGiB: number;
  node: string;
  /** 1-minute load average when the benchmark started: other work on the machine skews figures. */
  loadavg1: number;
}

export function machine(): Machine {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // not Linux: os.cpus() has it
  }
  return { cpus: cpus().length, model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadavg1: Math.round(loadavg()[0]! * 100) / 100 };
}

export interface BenchFederationOptions {
  nodes: number;
  /** In 49000..49870 (each federation uses P..P+130). */
  basePort: number;
  /** Signing round length in seconds (a divisor of 60). */
  roundSec?: number;
  keygenSec?: number;
  /** 0: no keygen at all (the idle benchmark). Default scales with n (process start-up). */
  keygenUntilMs?: number;
  committeeMax?: number;
  pingIntervalMs?: number;
  peerTimeoutMs?: number;
  /** 0 = blocks only when the benchmark mines. */
  blockIntervalMs?: number;
  /** chain.pollMs (default 300: the benchmarks want deposits seen at once). */
  chainPollMs?: number;
  /** Further config sections, deep-merged last. */
  config?: Record<string, unknown>;
}

/** Runs `fn` against a fresh federation and always stops it and removes its directory. */
export async function withFederation<T>(o: BenchFederationOptions, fn: (fed: ProcessFederation) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-bench-'));
  const roundSec = o.roundSec ?? 20;
  const t0 = Date.now();
  const fed = await startProcessFederation({
    nodes: o.nodes,
    dir,
    basePort: o.basePort,
    blockIntervalMs: o.blockIntervalMs ?? 1_000,
    keygenUntilMs: o.keygenUntilMs ?? 20_000 + 4_000 * o.nodes,
    config: deepMerge({
      log: { level: 'warn' },
      chain: { pollMs: o.chainPollMs ?? 300 },
      committee: { max: o.committeeMax ?? o.nodes },
      schedule: { signing: `*/${roundSec} * * * * *`, keygen: `*/${o.keygenSec ?? 10} * * * * *`, regroup: '59 59 23 * * *' },
      p2p: { pingIntervalMs: o.pingIntervalMs ?? 1_000, peerTimeoutMs: o.peerTimeoutMs ?? 6_000, maxConnections: Math.max(32, 2 * o.nodes) },
      custody: { replicationDelayMs: 500 },
    }, o.config),
    out: (l) => log(`  ${l}`),
  });
  log(`  ${o.nodes} node processes up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  let ok = false;
  try {
    const r = await fn(fed);
    ok = true;
    return r;
  } finally {
    await fed.stop();
    // A failed run keeps its node logs and databases for a look.
    if (ok) rmSync(dir, { recursive: true, force: true });
    else log(`  kept ${dir} (node logs and databases) for inspection`);
  }
}

import { waitFor } from '../src/util/wait.js';
export { waitFor };

interface TransferJson {
  request: { id: string };
  state: string;
  txid: string | null;
}

/** Transfer states on one node, by request id. */
export async function transferStates(fed: ProcessFederation, nodeIndex = 0): Promise<Map<string, TransferJson>> {
  const list = await fed.nodes[nodeIndex]!.api.get<TransferJson[]>('/v1/transfers', { limit: 1000 });
  return new Map(list.map((t) => [t.request.id, t]));
}

interface RoundJson {
  roundId: number;
  status: string;
  txid?: string;
  thresholdSet?: string[];
  startedAt: number;
}
interface TimelineJson {
  entries: { phase: string; decision: string; time: number; digest?: string }[];
}

export interface RoundTiming {
  roundId: number;
  txid: string;
  /** The round's nominal start: roundId × round length (every node's scheduler fires then). */
  roundStartMs: number;
  /** Earliest start any node recorded (its scheduler firing). */
  firstNodeStartMs: number;
  /** Earliest `broadcast` entry for the txid over every node's round log. */
  broadcastMs: number;
  latencyMs: number;
  /** From the first `ceremony` entry (nonce commitments) to the broadcast, on the earliest node. */
  ceremonyMs: number | null;
  thresholdSet: number;
}

/** Timing of the round that broadcast `txid`, from every node's round log (GET /v1/rounds/:id). */
export async function roundTiming(fed: ProcessFederation, txid: string, roundMs: number): Promise<RoundTiming> {
  const up = fed.nodes.filter((n) => n.running);
  const round = await waitFor(
    async () => {
      for (const n of up) {
        const r = (await n.api.get<RoundJson[]>('/v1/rounds', { limit: 100 }).catch(() => [])).find((x) => x.txid === txid && x.status === 'completed');
        if (r) return r;
      }
      return undefined;
    },
    30_000,
    `the round that broadcast ${txid}`,
  );
  let broadcastMs = Infinity;
  let firstNodeStartMs = Infinity;
  let ceremonyMs: number | null = null;
  for (const n of up) {
    const [t, summaries] = await Promise.all([
      n.api.get<TimelineJson>(`/v1/rounds/${round.roundId}`).catch(() => null),
      n.api.get<RoundJson[]>('/v1/rounds', { limit: 100 }).catch(() => [] as RoundJson[]),
    ]);
    const mine = summaries.find((x) => x.roundId === round.roundId);
    if (mine) firstNodeStartMs = Math.min(firstNodeStartMs, mine.startedAt);
    const b = t?.entries.find((e) => e.phase === 'broadcast' && e.decision === 'broadcast' && e.digest === txid);
    if (b && b.time < broadcastMs) {
      broadcastMs = b.time;
      const c = t!.entries.find((e) => e.phase === 'ceremony');
      ceremonyMs = c ? b.time - c.time : null;
    }
  }
  if (!Number.isFinite(broadcastMs)) throw new Error(`no node logged the broadcast of ${txid} in round ${round.roundId}`);
  const roundStartMs = round.roundId * roundMs;
  return {
    roundId: round.roundId,
    txid,
    roundStartMs,
    firstNodeStartMs,
    broadcastMs,
    latencyMs: broadcastMs - roundStartMs,
    ceremonyMs,
    thresholdSet: round.thresholdSet?.length ?? 0,
  };
}

export function stats(xs: number[]): { n: number; median: number; min: number; max: number; mean: number } {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  const median = a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: a.length, median: r(median), min: r(a[0]!), max: r(a.at(-1)!), mean: r(a.reduce((s, x) => s + x, 0) / a.length) };
}
