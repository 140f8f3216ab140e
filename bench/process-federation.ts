// What the multi-process benchmarks share: a process federation with benchmark settings (ports
// 30000-30999, below the ephemeral range, its own temp dir, progress on stderr), polling helpers, reading the round log over
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
  /** In 30000..30870 (each federation uses P..P+130), below Linux's ephemeral range (32768-60999). */
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
export interface LogEntryJson {
  phase: string;
  decision: string;
  time: number;
  digest?: string;
  reason?: string;
}

/** Every running node's round log of one round (a node that does not answer gives none). */
export async function roundLogs(fed: ProcessFederation, roundId: number): Promise<LogEntryJson[][]> {
  return Promise.all(
    fed.nodes.filter((n) => n.running).map((n) => n.api.get<{ entries: LogEntryJson[] }>(`/v1/rounds/${roundId}`).then((t) => t.entries, () => [] as LogEntryJson[])),
  );
}

/** When each step of a round was reached, in ms after `startMs`: by the first node and by the last. */
export function phaseBreakdown(logs: LogEntryJson[][], startMs: number) {
  const step = (phase: string, decision: string, reason?: string) => {
    const times = logs.flatMap((l) => l.filter((x) => x.phase === phase && x.decision === decision && (reason === undefined || x.reason === reason)).map((x) => x.time - startMs));
    return times.length ? { first: Math.min(...times), last: Math.max(...times) } : null;
  };
  return {
    candidateDecided: step('candidate', 'decided'),
    checksumAgreed: step('checksum', 'agreed'),
    commitmentsSent: step('ceremony', 'sent', 'commitments'),
    commitmentsAccepted: step('ceremony', 'accept', 'commitments'),
    sharesSent: step('ceremony', 'sent', 'signature-shares'),
    sharesAccepted: step('ceremony', 'accept', 'signature-shares'),
    broadcast: step('broadcast', 'broadcast'),
    aborted: step('ceremony', 'abort'),
    /** Signing attempts (a new attempt follows a signer named silent or invalid). */
    attempts: Math.max(0, ...logs.map((l) => l.filter((x) => x.phase === 'ceremony' && x.decision === 'attempt').length)),
  };
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
  /** From the first commitments sent (the ceremony's start) to the first broadcast. */
  ceremonyMs: number | null;
  thresholdSet: number;
  phasesMs: ReturnType<typeof phaseBreakdown>;
}

/** Timing of the round that broadcast `txid`, from every node's round log (GET /v1/rounds/:id). */
export async function roundTiming(fed: ProcessFederation, txid: string, roundMs: number): Promise<RoundTiming> {
  const up = fed.nodes.filter((n) => n.running);
  const summaries = async () => (await Promise.all(up.map((n) => n.api.get<RoundJson[]>('/v1/rounds', { limit: 100 }).catch(() => [] as RoundJson[])))).flat();
  const round = await waitFor(async () => (await summaries()).find((x) => x.txid === txid && x.status === 'completed'), 30_000, `the round that broadcast ${txid}`);
  const logs = await roundLogs(fed, round.roundId);
  const roundStartMs = round.roundId * roundMs;
  const broadcasts = logs.flatMap((l) => l.filter((e) => e.phase === 'broadcast' && e.decision === 'broadcast' && e.digest === txid).map((e) => e.time));
  if (broadcasts.length === 0) throw new Error(`no node logged the broadcast of ${txid} in round ${round.roundId}`);
  const broadcastMs = Math.min(...broadcasts);
  const phasesMs = phaseBreakdown(logs, roundStartMs);
  const starts = (await summaries()).filter((x) => x.roundId === round.roundId).map((x) => x.startedAt);
  return {
    roundId: round.roundId,
    txid,
    roundStartMs,
    firstNodeStartMs: starts.length ? Math.min(...starts) : roundStartMs,
    broadcastMs,
    latencyMs: broadcastMs - roundStartMs,
    ceremonyMs: phasesMs.commitmentsSent ? broadcastMs - roundStartMs - phasesMs.commitmentsSent.first : null,
    thresholdSet: round.thresholdSet?.length ?? 0,
    phasesMs,
  };
}

export function stats(xs: number[]): { n: number; median: number; min: number; max: number; mean: number } {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  const median = a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: a.length, median: r(median), min: r(a[0]!), max: r(a.at(-1)!), mean: r(a.reduce((s, x) => s + x, 0) / a.length) };
}
