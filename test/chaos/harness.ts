// The chaos harness: a process federation on loopback (devchain + N node processes, as the devnet
// runs them), a steady trickle of transfers, and a seeded schedule of faults, one at a time:
// SIGKILL and restart, SIGSTOP/SIGCONT, a partition (a minority's connections to the rest cut and
// restored through the nodes' test control endpoints), and a Byzantine node (a misbehaviour
// switched on through the same endpoint), and a chain reorganisation aimed at the latest block
// holding a custody tx (its custody txs forgotten or back in the mempool, per the seed). After each
// fault heals, a probe transfer must be paid
// within a bounded number of rounds. At the end the run is judged from the devchain and every
// node's database (judge.ts). Every node process runs test/support/node-main.ts: the production
// node with the test behaviour (Byzantine modes, control endpoint, epoch attacks) around it.
import { logDigest } from '../support/log-digest.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcessFederation, type ProcessFederation } from '../../src/devnet/federation.js';
import { defaultThreshold } from '../../src/crypto/identifiers.js';
import { errorMessage } from '../../src/util/errors.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { commitmentRoundId } from '../../src/custody/candidate.js';
import type { DevChain } from '../../src/chain/devchain/index.js';
import type { Check, CulpritFinding } from './db-audit.js';
import { judgeRun, type JudgedFault } from './judge.js';
import { describeFault, makeSchedule, type ChaosMode, type Fault, type FaultKind } from './schedule.js';
import { isEpochAttackMode, readEpochAttackState, setEpochAttack, type EpochAttackMode, type OfferedRecord } from './epoch-attacks.js';
import { controlFile, TEST_NODE_ENV, type TestNodeSettings } from '../support/byzantine/node.js';
import { Workload } from './workload.js';

export interface ChaosOptions {
  seed: string;
  /** Default 5. */
  nodes?: number;
  /** Number of faults (default 4: one of each kind). */
  faults?: number;
  kinds?: FaultKind[];
  modes?: ChaosMode[];
  /** Working directory (default a fresh temp dir, removed after a passing run unless keep). */
  dir?: string;
  keep?: boolean;
  /** Devchain on P, libp2p P+1.., HTTP P+101.. (default 48000); the test control endpoints on ports of their own choosing. */
  basePort?: number;
  /** Signing round length in seconds; must divide 60 (default 10). */
  roundSec?: number;
  /** A probe transfer requested when a fault heals must be paid within this many rounds (default 6). */
  recoveryRounds?: number;
  /** keygen_until, counted from the stakes (default 45 s + 3 s per node: five processes can take half a minute to come up on a loaded 2-core machine). */
  keygenWindowMs?: number;
  out?: (line: string) => void;
  /** Aborting stops the run at its next wait; the federation is stopped and the report says so. */
  signal?: AbortSignal;
}

export interface FaultRecord extends JudgedFault {
  description: string;
  /** Probe transfer requested at heal time, and when the chain paid it. */
  probe: string | null;
  recoveredAt: number | null;
  /** Epoch attacks: the records the attacker served (the audit looks for them on honest nodes). */
  offered?: OfferedRecord[];
}

export interface ChaosReport {
  seed: string;
  nodes: number;
  threshold: number | null;
  basePort: number;
  dir: string;
  roundMs: number;
  recoveryBoundRounds: number;
  groupKey: string | null;
  faults: FaultRecord[];
  transfers: { requested: number; paid: number };
  culprits: CulpritFinding[];
  checks: Check[];
  ok: boolean;
  durationMs: number;
  error?: string;
}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A call to a node's test control endpoint, at the URL the node wrote to its data directory (test/support/byzantine/node.ts). */
async function control(node: { name: string; dir: string }, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const file = controlFile(node.dir);
  if (!existsSync(file)) throw new Error(`${node.name} control ${path}: no ${file} (the node has not started its test control endpoint)`);
  const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url: string };
  const r = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(5_000),
  });
  const j = (await r.json()) as Record<string, unknown>;
  if (r.status !== 200) throw new Error(`${node.name} control ${path}: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j;
}

/** Whether every port the federation would use at `base` is free now (devchain, libp2p, HTTP). */
async function portsFree(base: number, n: number): Promise<boolean> {
  const ports = [base, ...Array.from({ length: n }, (_, i) => [base + i + 1, base + 101 + i]).flat()];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/**
 * The first base port from `preferred`, in steps of 250 within the chaos range 48000-48999, whose
 * ports are all free: they lie in the ephemeral range, so any process's outgoing connection may
 * hold one for a while.
 */
export async function chooseBasePort(preferred: number, n: number, skip = 0): Promise<number> {
  for (let k = skip; k < skip + 4; k++) {
    const base = preferred >= 48000 && preferred < 49000 ? 48000 + ((preferred - 48000 + 250 * k) % 1000) : preferred + 250 * k;
    if (await portsFree(base, n)) return base;
  }
  return preferred;
}

interface Ctx {
  fed: ProcessFederation;
  work: Workload;
  roundMs: number;
  threshold: number;
  sleep: (ms: number) => Promise<void>;
}

/** Injects one fault, holds it, heals it; fills in what the record needs (actions, error). */
async function inject(c: Ctx, fault: Fault, rec: FaultRecord): Promise<void> {
  const { fed, work } = c;
  const node = fed.nodes[fault.node]!;
  const during = () => work.request(`during fault ${fault.index}`);
  switch (fault.kind) {
    case 'kill':
      work.excluded.add(fault.node);
      node.kill('SIGKILL');
      await during();
      await c.sleep(fault.holdMs);
      await node.start();
      work.excluded.delete(fault.node);
      return;
    case 'pause':
      work.excluded.add(fault.node);
      node.kill('SIGSTOP');
      await during();
      await c.sleep(fault.holdMs);
      node.kill('SIGCONT');
      work.excluded.delete(fault.node);
      return;
    case 'partition': {
      const group = new Set(fault.group!);
      for (const i of group) work.excluded.add(i);
      const cut = (x: (typeof fed.nodes)[number]) => fed.nodes.filter((o) => group.has(o.index) !== group.has(x.index)).map((o) => o.peerId);
      await Promise.all(fed.nodes.map((x) => control(x, '/v1/test/partition', { peers: cut(x) })));
      await during();
      await c.sleep(fault.holdMs);
      await Promise.all(fed.nodes.map((x) => control(x, '/v1/test/partition', { peers: [] })));
      for (const i of group) work.excluded.delete(i);
      return;
    }
    case 'byzantine': {
      // The Byzantine modes switch through the node's test control endpoint; the epoch attacks
      // (test/chaos/epoch-attacker.ts) by a file in its data directory.
      const epochAttack = isEpochAttackMode(fault.mode!);
      const count = async () =>
        epochAttack ? (readEpochAttackState(node.dir).actions[fault.mode!] ?? 0) : (((await control(node, '/v1/test/state')).actions as Record<string, number>)[fault.mode!] ?? 0);
      const setMode = async (mode: string) => {
        if (epochAttack) setEpochAttack(node.dir, mode === 'none' ? 'none' : (fault.mode as EpochAttackMode));
        else await control(node, '/v1/test/byzantine', { mode });
      };
      work.excluded.add(fault.node);
      const before = await count();
      await setMode(fault.mode!);
      await during();
      await c.sleep(fault.holdMs);
      // Hold on (up to 6 more rounds) until the node actually got to misbehave.
      const end = Date.now() + 6 * c.roundMs;
      let done = (await count()) - before;
      while (done === 0 && Date.now() < end) {
        if (work.transfers.every((t) => t.paidAt !== null)) await work.request(`more work for fault ${fault.index}`);
        await c.sleep(c.roundMs / 2);
        await work.refreshPaid();
        done = (await count()) - before;
      }
      await setMode('none');
      rec.actions = { [fault.mode!]: done };
      if (epochAttack) rec.offered = readEpochAttackState(node.dir).offered.filter((o) => o.mode === fault.mode);
      work.excluded.delete(fault.node);
      return;
    }
    case 'reorg': {
      // Aim at a block that holds a custody tx: wait (with fresh work) until one is within reach.
      const end = Date.now() + 8 * c.roundMs;
      while (custodyBlocks(fed.devchain.chain).length === 0 && Date.now() < end) {
        if (work.transfers.every((t) => t.paidAt !== null)) await work.request(`work for fault ${fault.index}`);
        await c.sleep(1_000);
      }
      const r = reorgCustodyBlocks(fed.devchain.chain, fault);
      if (!r) throw new Error(`no block within ${MAX_REORG_DEPTH} of the tip holds a custody tx`);
      rec.actions = { depth: r.depth, custodyTxs: r.txids.length };
      rec.reorged = r.txids;
      await during();
      return;
    }
  }
}

/** The deepest a reorg fault goes below the tip to find a block holding a custody tx. */
const MAX_REORG_DEPTH = 8;

/**
 * Custody txs (those with the MNC1 commitment output) in the blocks within MAX_REORG_DEPTH of the
 * tip, newest block first. Blocks less than two below the tip are left out: the nodes (polling
 * every 300 ms, slower under load) must have seen the tx confirmed for the fault to test anything.
 */
export function custodyBlocks(dc: DevChain): Array<{ height: number; txids: string[] }> {
  const out: Array<{ height: number; txids: string[] }> = [];
  for (let h = dc.height() - 2; h > 0 && h > dc.height() - MAX_REORG_DEPTH; h--) {
    const txids = dc.blockAt(h)!.txids.filter((id) => dc.tx(id)?.p.outputs.some((o) => commitmentRoundId(bytesToHex(o.script)) !== null));
    if (txids.length) out.push({ height: h, txids });
  }
  return out;
}

/**
 * Disconnects every block from the latest one holding a custody tx (and `extraDepth` below it)
 * to the tip, in the devchain's own process, so no block timer slips in between the choice and
 * the reorg. Returns the custody txids disconnected and the depth, or null when no block within
 * reach holds one.
 */
export function reorgCustodyBlocks(dc: DevChain, fault: Pick<Fault, 'drop' | 'extraDepth'>): { depth: number; txids: string[] } | null {
  const latest = custodyBlocks(dc)[0];
  if (!latest) return null;
  const fork = Math.max(1, latest.height - (fault.extraDepth ?? 0));
  const txids = custodyBlocks(dc).filter((b) => b.height >= fork).flatMap((b) => b.txids);
  const depth = dc.height() - fork + 1;
  dc.reorg(depth, fault.drop ? { drop: txids } : {});
  return { depth, txids };
}

/** Only a signer can send a bad share, and signers are the t most senior: for invalid-share the
 * scheduled index is read as a seniority rank below t (stakes, hence seniority, differ per run). */
async function retarget(c: Ctx, fault: Fault): Promise<Fault> {
  if (fault.kind !== 'byzantine' || fault.mode !== 'invalid-share') return fault;
  const order = await c.work.seniorityOrder();
  const target = c.fed.nodes.findIndex((x) => x.peerId === order[fault.node % Math.max(1, c.threshold - 1)]);
  return target >= 0 ? { ...fault, node: target } : fault;
}

/** Every node runs through the test entry point, the production node wrapped with the test behaviour. */
const NODE_MAIN = fileURLToPath(new URL('../support/node-main.ts', import.meta.url));

function federationOptions(o: { n: number; dir: string; basePort: number; roundSec: number; out: (l: string) => void; epochAttacks: boolean; keygenWindowMs?: number }) {
  const settings: TestNodeSettings = { byzantine: 'none', floodCount: 50, epochAttacks: o.epochAttacks };
  return {
    entry: NODE_MAIN,
    env: { [TEST_NODE_ENV]: JSON.stringify(settings) },
    nodes: o.n,
    dir: o.dir,
    basePort: o.basePort,
    blockIntervalMs: 1_000,
    // The window includes the nodes' start-up: five tsx processes starting at once on a busy
    // 2-core machine took over 30 s to answer /health, and a 30 s window closed before any keygen.
    keygenUntilMs: o.keygenWindowMs ?? 45_000 + 3_000 * o.n,
    config: {
      chain: { pollMs: 300 },
      schedule: { keygen: `*/${o.roundSec} * * * * *`, signing: `*/${o.roundSec} * * * * *`, regroup: '59 59 23 * * *' },
      p2p: { pingIntervalMs: 1_000, peerTimeoutMs: 6_000 },
      custody: { replicationDelayMs: 500 },
      // Short blocks so that a node named for a fault the run provoked can come back within the
      // run: 36 s for a protocol violation, 15 s for silence.
      blocklist: { hours: 0.01, silentMinutes: 0.25 },
    },
    out: o.out,
  };
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const n = opts.nodes ?? 5;
  const roundSec = opts.roundSec ?? 10;
  if (!Number.isInteger(roundSec) || roundSec < 4 || 60 % roundSec !== 0) throw new Error(`roundSec must divide 60 and be >= 4, got ${roundSec}`);
  const roundMs = roundSec * 1000;
  const bound = opts.recoveryRounds ?? 6;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'metanode-chaos-'));
  const out = (l: string) => opts.out?.(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${l}`);
  // Every wait of the run goes through sleep(): an abort (Ctrl-C) ends the run there.
  const sleep = async (ms: number) => {
    if (opts.signal?.aborted) throw new Error('aborted');
    await wait(ms);
    if (opts.signal?.aborted) throw new Error('aborted');
  };
  const threshold = defaultThreshold(n);
  const schedule = makeSchedule({ seed: opts.seed, nodes: n, threshold, faults: opts.faults ?? 4, roundMs, kinds: opts.kinds, modes: opts.modes });
  let basePort = await chooseBasePort(opts.basePort ?? 48000, n);
  // Every node carries the epoch attacks when the schedule holds one (any node may be drawn).
  const epochAttacks = schedule.some((f) => f.mode !== undefined && isEpochAttackMode(f.mode));
  const report: ChaosReport = {
    seed: opts.seed, nodes: n, threshold: null, basePort, dir, roundMs, recoveryBoundRounds: bound, groupKey: null, faults: [],
    transfers: { requested: 0, paid: 0 }, culprits: [], checks: [], ok: false, durationMs: 0,
  };
  out(`chaos seed=${opts.seed}: ${n} nodes, ${roundSec}-second rounds, ${schedule.length} faults, dir ${dir}`);

  let fed: ProcessFederation | undefined;
  try {
    try {
      fed = await startProcessFederation(federationOptions({ n, dir, basePort, roundSec, out, epochAttacks, keygenWindowMs: opts.keygenWindowMs }));
    } catch (e) {
      // A port taken between the check and the start (another process's outgoing connection): once more, elsewhere.
      const logs = readdirSync(dir).filter((d) => d.startsWith('node-')).map((d) => join(dir, d, 'node.log')).filter((l) => existsSync(l));
      if (!logs.some((l) => readFileSync(l, 'utf8').includes('EADDRINUSE'))) throw e;
      basePort = report.basePort = await chooseBasePort(basePort, n, 1);
      out(`a port was in use; starting again at base port ${basePort}`);
      fed = await startProcessFederation(federationOptions({ n, dir, basePort, roundSec, out, epochAttacks, keygenWindowMs: opts.keygenWindowMs }));
    }
    const work = new Workload(fed, out, sleep);
    const c: Ctx = { fed, work, roundMs, threshold, sleep };
    const names = fed.nodes.map((x) => x.name);
    const key = await fed.waitForKey(90_000 + 3_000 * n);
    report.threshold = c.threshold = key.threshold;
    report.groupKey = key.groupKey;
    out(`key locked in: epoch ${key.epoch}, ${key.threshold}-of-${n}, vault ${key.vaultAddress}`);

    const warm = await work.request('warm-up');
    if (!warm || !(await work.waitPaid(warm, 12 * roundMs))) throw new Error('the warm-up transfer was not paid: the federation does not work before any fault');
    out(`warm-up transfer paid after ${((warm.paidAt! - warm.requestedAt) / 1000).toFixed(1)} s`);

    for (const scheduled of schedule) {
      if (!(await work.quiet(6 * roundMs))) out('no quiet point before the next fault (some node still blocks or misses another); going on');
      const fault = await retarget(c, scheduled);
      const rec: FaultRecord = {
        ...fault, description: describeFault(fault, names), target: fed.nodes[fault.node]!.peerId, startedAt: Date.now(), healedAt: null, probe: null, recoveredAt: null, recoveryRounds: null,
      };
      report.faults.push(rec);
      out(`fault ${fault.index}: ${rec.description}`);
      try {
        await inject(c, fault, rec);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        rec.error = errorMessage(e);
        out(`fault ${fault.index}: ${rec.error}`);
      }
      rec.healedAt = Date.now();
      out(`fault ${fault.index} healed`);
      const probe = await work.request(`probe after fault ${fault.index}`);
      rec.probe = probe?.id ?? null;
      if (probe && (await work.waitPaid(probe, (bound + 2) * roundMs))) {
        rec.recoveredAt = probe.paidAt;
        rec.recoveryRounds = Math.ceil((probe.paidAt! - rec.healedAt) / roundMs);
        out(`fault ${fault.index}: transfers resumed, probe paid ${((probe.paidAt! - rec.healedAt) / 1000).toFixed(1)} s (${rec.recoveryRounds} rounds) after the heal`);
      } else out(`fault ${fault.index}: probe not paid within ${bound + 2} rounds of the heal`);
    }

    await work.drain(Math.max(60_000, 6 * roundMs));
    report.transfers = { requested: work.transfers.length, paid: work.transfers.filter((t) => t.paidAt !== null).length };
    out(`transfers: ${report.transfers.paid} of ${report.transfers.requested} paid`);
    const j = await judgeRun(fed, { dir, roundMs, recoveryBound: bound, groupKey: report.groupKey, faults: report.faults, transfers: work.transfers });
    report.checks = j.checks;
    report.culprits = j.culprits;
  } catch (e) {
    report.error = errorMessage(e);
    out(`chaos run failed: ${report.error}`);
    for (const l of logDigest(dir)) out(l);
  } finally {
    await fed?.stop().catch(() => {});
  }
  report.ok = report.error === undefined && report.checks.length > 0 && report.checks.every((x) => x.ok);
  report.durationMs = Date.now() - started;
  for (const x of report.checks) out(`${x.ok ? 'PASS' : 'FAIL'} ${x.name}: ${x.detail}`);
  if (report.ok && !opts.keep && !opts.dir) rmSync(dir, { recursive: true, force: true });
  return report;
}
