// The chaos harness: a process federation on loopback (devchain + N node processes, as the devnet
// runs them), a steady trickle of transfers, and a seeded schedule of faults, one at a time:
// SIGKILL and restart, SIGSTOP/SIGCONT, a partition (a minority's connections to the rest cut and
// restored through the nodes' test control endpoints), and a Byzantine node (a misbehaviour
// switched on through the same endpoint). After each fault heals, a probe transfer must be paid
// within a bounded number of rounds. At the end the nodes stop and the run is judged from the
// devchain and every node's database (see checks in db-audit.ts and chain-audit.ts).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ByzantineMode } from '../../src/config/schema.js';
import { startProcessFederation, type ProcessFederation, type ProcNode } from '../../src/devnet/federation.js';
import { addressToScript } from '../../src/chain/network.js';
import { defaultThreshold } from '../../src/crypto/identifiers.js';
import { errorMessage } from '../../src/util/errors.js';
import { auditChain } from './chain-audit.js';
import {
  commitmentCheck, culpritFinding, groupKeyCheck, integrityCheck, paymentCheck, readNodeDb, silenceNoticed, type Check, type CulpritFinding, type NodeDbView,
} from './db-audit.js';
import { describeFault, makeSchedule, type Fault, type FaultKind } from './schedule.js';

export interface ChaosOptions {
  seed: string;
  /** Default 5. */
  nodes?: number;
  /** Number of faults (default 4: one of each kind). */
  faults?: number;
  kinds?: FaultKind[];
  modes?: ByzantineMode[];
  /** Working directory (default a fresh temp dir, removed after a passing run unless keep). */
  dir?: string;
  keep?: boolean;
  /** Devchain on P, libp2p P+1.., HTTP P+101.., test control P+201.. (default 48000). */
  basePort?: number;
  /** Signing round length in seconds; must divide 60 (default 10). */
  roundSec?: number;
  /** A probe transfer requested when a fault heals must be paid within this many rounds (default 6). */
  recoveryRounds?: number;
  out?: (line: string) => void;
  /** Aborting stops the run at its next wait; the federation is stopped and the report says so. */
  signal?: AbortSignal;
}

export interface FaultRecord extends Fault {
  description: string;
  target: string;
  startedAt: number;
  healedAt: number | null;
  /** Probe transfer requested at heal time, and when it was paid on chain. */
  probe: string | null;
  recoveredAt: number | null;
  recoveryRounds: number | null;
  /** Byzantine: what the node counted doing. */
  actions?: Record<string, number>;
  /** Crash/pause/partition: honest nodes whose round log noted the silence (information only). */
  noticedBy?: string[];
  error?: string;
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

interface Transfer {
  id: string;
  script: string;
  amount: number;
  at: string;
  requestedAt: number;
  paidAt: number | null;
}

const TRANSFER_FEE = 2_000n;
const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function control(node: ProcNode, port: number, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(5_000),
  });
  const j = (await r.json()) as Record<string, unknown>;
  if (r.status !== 200) throw new Error(`${node.name} control ${path}: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j;
}

/** Whether every port the federation would use at `base` is free now (the devchain, libp2p, HTTP, test control). */
async function portsFree(base: number, n: number): Promise<boolean> {
  const ports = [base, ...Array.from({ length: n }, (_, i) => [base + i + 1, base + 101 + i, base + 201 + i]).flat()];
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

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const n = opts.nodes ?? 5;
  const roundSec = opts.roundSec ?? 10;
  if (!Number.isInteger(roundSec) || roundSec < 4 || 60 % roundSec !== 0) throw new Error(`roundSec must divide 60 and be >= 4, got ${roundSec}`);
  const roundMs = roundSec * 1000;
  let basePort = await chooseBasePort(opts.basePort ?? 48000, n);
  const bound = opts.recoveryRounds ?? 6;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'metanode-chaos-'));
  const t0 = Date.now();
  // Every wait of the run goes through sleep(): an abort (Ctrl-C) ends the run there.
  const sleep = async (ms: number) => {
    if (opts.signal?.aborted) throw new Error('aborted');
    await wait(ms);
    if (opts.signal?.aborted) throw new Error('aborted');
  };
  const out = (l: string) => opts.out?.(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${l}`);
  const controlPort = (i: number) => basePort + 200 + i + 1;
  const threshold = defaultThreshold(n);
  const schedule = makeSchedule({ seed: opts.seed, nodes: n, threshold, faults: opts.faults ?? 4, roundMs, kinds: opts.kinds, modes: opts.modes });
  const report: ChaosReport = {
    seed: opts.seed, nodes: n, threshold: null, basePort, dir, roundMs, recoveryBoundRounds: bound, groupKey: null, faults: [],
    transfers: { requested: 0, paid: 0 }, culprits: [], checks: [], ok: false, durationMs: 0,
  };
  out(`chaos seed=${opts.seed}: ${n} nodes, ${roundSec}-second rounds, ${schedule.length} faults, dir ${dir}`);

  let fed: ProcessFederation | undefined;
  const transfers: Transfer[] = [];
  const byzantineNow = new Set<number>();
  const cutOff = new Set<number>();
  const down = new Set<number>();
  try {
    const start = () => startProcessFederation({
      nodes: n,
      dir,
      basePort,
      blockIntervalMs: 1_000,
      keygenUntilMs: 20_000 + 2_000 * n,
      config: {
        chain: { pollMs: 300 },
        schedule: { keygen: '*/5 * * * * *', signing: `*/${roundSec} * * * * *`, regroup: '59 59 23 * * *' },
        p2p: { pingIntervalMs: 1_000, peerTimeoutMs: 6_000 },
        custody: { replicationDelayMs: 500 },
        // Short blocks so that a node named for a fault the run provoked can come back within the
        // run: 36 s for a protocol violation, 15 s for silence.
        blocklist: { hours: 0.01, silentMinutes: 0.25 },
      },
      perNode: (i) => ({ testing: { byzantine: 'none', controlPort: controlPort(i), floodCount: 50 } }),
      out: (l) => out(l),
    });
    try {
      fed = await start();
    } catch (e) {
      // A port taken between the check and the start (another process's outgoing connection): once more, elsewhere.
      const logs = readdirSync(dir).filter((d) => d.startsWith('node-')).map((d) => join(dir, d, 'node.log')).filter((l) => existsSync(l));
      if (!logs.some((l) => readFileSync(l, 'utf8').includes('EADDRINUSE'))) throw e;
      basePort = await chooseBasePort(basePort, n, 1);
      report.basePort = basePort;
      out(`a port was in use; starting again at base port ${basePort}`);
      fed = await start();
    }
    const f = fed;
    const names = f.nodes.map((x) => x.name);
    const key = await f.waitForKey(90_000 + 3_000 * n);
    report.threshold = key.threshold;
    report.groupKey = key.groupKey;
    out(`key locked in: epoch ${key.epoch}, ${key.threshold}-of-${n}, vault ${key.vaultAddress}`);

    // Transfers, and whether the chain pays them (a confirmed output to the payout address).
    const paidScripts = async (): Promise<Set<string>> => new Set((await f.faucet.utxos()).utxos.filter((u) => u.confirmed).map((u) => u.scriptPubKey));
    const healthy = () => f.nodes.filter((x) => x.running && !down.has(x.index) && !byzantineNow.has(x.index) && !cutOff.has(x.index));
    let rr = 0;
    // A node the others still block (a culprit whose block has not expired) cannot get its
    // requests replicated; the workload goes to nodes another node admits and does not block.
    const admittedByOthers = async (x: ProcNode): Promise<boolean> => {
      const other = f.nodes.find((o) => o !== x && o.running && !cutOff.has(o.index));
      if (!other) return true;
      const peers = await other.api.get<Array<{ peerId: string; admitted: boolean; blockedUntil: number | null }>>('/v1/peers').catch(() => null);
      const e = peers?.find((p) => p.peerId === x.peerId);
      return e !== undefined && e.admitted && (e.blockedUntil === null || e.blockedUntil < Date.now());
    };
    const request = async (tag: string): Promise<Transfer | null> => {
      const all = healthy();
      const ok = await Promise.all(all.map((x) => admittedByOthers(x)));
      const candidates = all.filter((_x, k) => ok[k]).length ? all.filter((_x, k) => ok[k]) : all;
      for (let k = 0; k < candidates.length; k++) {
        const at = candidates[(rr++ + k) % candidates.length]!;
        try {
          const amount = 30_000 + transfers.length * 1_000;
          const t = await f.requestTransfer(at, amount);
          const rec: Transfer = { id: t.id, script: addressToScript(t.payoutAddress, 'regtest'), amount, at: at.name, requestedAt: Date.now(), paidAt: null };
          transfers.push(rec);
          out(`transfer ${t.id.slice(0, 8)} (${tag}) requested at ${at.name}: ${amount} sats`);
          return rec;
        } catch (e) {
          out(`transfer (${tag}) at ${at.name} failed: ${errorMessage(e)}`);
        }
      }
      return null;
    };
    const refreshPaid = async () => {
      const paid = await paidScripts();
      for (const t of transfers) if (t.paidAt === null && paid.has(t.script)) t.paidAt = Date.now();
    };
    const waitPaid = async (t: Transfer, timeoutMs: number): Promise<boolean> => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        await refreshPaid();
        if (t.paidAt !== null) return true;
        await sleep(500);
      }
      return false;
    };
    // A quiet point: every running node admits every other running node and blocks none of them.
    const quiet = async (timeoutMs: number): Promise<boolean> => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const running = f.nodes.filter((x) => x.running);
        const views = await Promise.all(
          running.map((x) => x.api.get<Array<{ peerId: string; admitted: boolean; blockedUntil: number | null }>>('/v1/peers').catch(() => null)),
        );
        const ok = views.every(
          (v, k) =>
            v !== null &&
            running.every((o) => o === running[k] || v.some((p) => p.peerId === o.peerId && p.admitted && (p.blockedUntil === null || p.blockedUntil < Date.now()))),
        );
        if (ok) return true;
        await sleep(1_000);
      }
      return false;
    };

    const warm = await request('warm-up');
    if (!warm || !(await waitPaid(warm, 12 * roundMs))) throw new Error('the warm-up transfer was not paid: the federation does not work before any fault');
    out(`warm-up transfer paid after ${((warm.paidAt! - warm.requestedAt) / 1000).toFixed(1)} s`);

    // Peer ids in seniority order (stake height, then txid), as the nodes rank them.
    const seniorityOrder = async (): Promise<string[]> => {
      const stakes = new Map<string, { height: number; txid: string }>();
      for (const x of f.nodes.filter((y) => y.running).slice(0, 2)) {
        const peers = await x.api.get<Array<{ peerId: string; stake: { txid: string; height: number } | null }>>('/v1/peers').catch(() => []);
        for (const p of peers) if (p.stake) stakes.set(p.peerId, p.stake);
      }
      return [...stakes.entries()].sort((a, b) => a[1].height - b[1].height || (a[1].txid < b[1].txid ? -1 : 1)).map(([id]) => id);
    };

    for (const scheduled of schedule) {
      if (!(await quiet(6 * roundMs))) out('no quiet point before the next fault (some node still blocks or misses another); going on');
      let fault = scheduled;
      if (fault.kind === 'byzantine' && fault.mode === 'invalid-share') {
        // Only a signer can send a bad share, and signers are the t most senior: the scheduled
        // index is read as a seniority rank below t (stakes, hence seniority, differ per run).
        const order = await seniorityOrder();
        const target = f.nodes.findIndex((x) => x.peerId === order[fault.node % (key.threshold - 1)]);
        if (target >= 0) fault = { ...fault, node: target };
      }
      const node = f.nodes[fault.node]!;
      const rec: FaultRecord = {
        ...fault, description: describeFault(fault, names), target: node.peerId, startedAt: Date.now(), healedAt: null, probe: null, recoveredAt: null, recoveryRounds: null,
      };
      report.faults.push(rec);
      out(`fault ${fault.index}: ${rec.description}`);
      try {
        switch (fault.kind) {
          case 'kill':
            down.add(fault.node);
            node.kill('SIGKILL');
            await request(`during fault ${fault.index}`);
            await sleep(fault.holdMs);
            await node.start();
            down.delete(fault.node);
            break;
          case 'pause':
            down.add(fault.node);
            node.kill('SIGSTOP');
            await request(`during fault ${fault.index}`);
            await sleep(fault.holdMs);
            node.kill('SIGCONT');
            down.delete(fault.node);
            break;
          case 'partition': {
            const group = new Set(fault.group!);
            for (const i of group) cutOff.add(i);
            await Promise.all(
              f.nodes.map((x) => control(x, controlPort(x.index), '/v1/test/partition', { peers: f.nodes.filter((o) => group.has(o.index) !== group.has(x.index)).map((o) => o.peerId) })),
            );
            await request(`during fault ${fault.index}`);
            await sleep(fault.holdMs);
            await Promise.all(f.nodes.map((x) => control(x, controlPort(x.index), '/v1/test/partition', { peers: [] })));
            for (const i of group) cutOff.delete(i);
            break;
          }
          case 'byzantine': {
            byzantineNow.add(fault.node);
            const before = ((await control(node, controlPort(fault.node), '/v1/test/state')).actions as Record<string, number>)[fault.mode!] ?? 0;
            const done = (st: Record<string, unknown>) => ((st.actions as Record<string, number>)[fault.mode!] ?? 0) - before;
            await control(node, controlPort(fault.node), '/v1/test/byzantine', { mode: fault.mode });
            await request(`during fault ${fault.index}`);
            await sleep(fault.holdMs);
            // Hold on (a few more rounds at most) until the node actually got to misbehave.
            const extraEnd = Date.now() + 6 * roundMs;
            let state = await control(node, controlPort(fault.node), '/v1/test/state');
            while (done(state) === 0 && Date.now() < extraEnd) {
              if (transfers.every((t) => t.paidAt !== null)) await request(`more work for fault ${fault.index}`);
              await sleep(roundMs / 2);
              await refreshPaid();
              state = await control(node, controlPort(fault.node), '/v1/test/state');
            }
            await control(node, controlPort(fault.node), '/v1/test/byzantine', { mode: 'none' });
            rec.actions = { [fault.mode!]: done(state) };
            byzantineNow.delete(fault.node);
            break;
          }
        }
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        rec.error = errorMessage(e);
        out(`fault ${fault.index}: ${rec.error}`);
      }
      rec.healedAt = Date.now();
      out(`fault ${fault.index} healed`);
      const probe = await request(`probe after fault ${fault.index}`);
      rec.probe = probe?.id ?? null;
      if (probe && (await waitPaid(probe, (bound + 2) * roundMs))) {
        rec.recoveredAt = probe.paidAt;
        rec.recoveryRounds = Math.ceil((probe.paidAt! - rec.healedAt) / roundMs);
        out(`fault ${fault.index}: transfers resumed, probe paid ${((probe.paidAt! - rec.healedAt) / 1000).toFixed(1)} s (${rec.recoveryRounds} rounds) after the heal`);
      } else out(`fault ${fault.index}: probe not paid within ${bound + 2} rounds of the heal`);
    }

    // Drain: everything requested should be paid by now or soon.
    const drainEnd = Date.now() + Math.max(60_000, 6 * roundMs);
    while (transfers.some((t) => t.paidAt === null) && Date.now() < drainEnd) {
      await refreshPaid();
      await sleep(1_000);
    }
    await refreshPaid();
    report.transfers = { requested: transfers.length, paid: transfers.filter((t) => t.paidAt !== null).length };
    out(`transfers: ${report.transfers.paid} of ${report.transfers.requested} paid`);

    // Judge: nodes stopped (databases at rest), the devchain still up for the audit.
    await Promise.allSettled(f.nodes.map((x) => x.stop()));
    const chain = await auditChain(f.devchain.url);
    const views: NodeDbView[] = f.nodes.map((x) => readNodeDb(x.name, x.peerId, x.dbFile));
    const byName = new Map(views.map((v) => [v.name, v]));
    const signedTxs = new Set(views.flatMap((v) => v.custodyTxs.map((t) => t.txid)).filter((t) => chain.txHeight.has(t))).size;
    const lastEnd = Math.max(...report.faults.map((r) => r.healedAt ?? Date.now()));
    for (const r of report.faults) {
      const next = report.faults[r.index + 1];
      const to = Math.min((r.healedAt ?? lastEnd) + 2 * roundMs, next?.startedAt ?? Infinity);
      const honest = f.nodes.filter((x) => x.index !== r.node && !(r.group ?? []).includes(x.index));
      if (r.kind === 'byzantine') {
        const actions = Object.values(r.actions ?? {}).reduce((a, b) => a + b, 0);
        report.culprits.push(
          culpritFinding(
            { mode: r.mode!, culprit: r.target, culpritName: names[r.node]!, from: r.startedAt, to, actions },
            honest.map((x) => ({ view: byName.get(x.name)!, logFile: x.logFile })),
          ),
        );
      } else {
        r.noticedBy = silenceNoticed(r.target, r.startedAt, to, honest.map((x) => byName.get(x.name)!));
      }
    }
    await f.stop();
    const devchainDbs = existsSync(join(dir, 'devchain')) ? readdirSync(join(dir, 'devchain')).filter((x) => x.endsWith('.sqlite')) : [];
    const extra = devchainDbs.map((file) => {
      const db = new Database(join(dir, 'devchain', file), { readonly: true });
      try {
        return { name: `devchain/${file}`, integrity: (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ') };
      } finally {
        db.close();
      }
    });

    report.checks.push({
      name: 'confirmed-txs-valid',
      ok: chain.invalid.length === 0,
      detail: chain.invalid.length
        ? chain.invalid.slice(0, 10).join('; ')
        : `${chain.txs} confirmed txs in ${chain.blocks} blocks: ${chain.inputsVerified.p2tr} P2TR and ${chain.inputsVerified.p2wpkh} P2WPKH input signatures verify, every input spends an earlier output (${chain.nullInputTxs} coinbase/faucet txs)`,
    });
    report.checks.push(paymentCheck(views, chain, TRANSFER_FEE));
    report.checks.push(commitmentCheck(views, signedTxs));
    report.checks.push(integrityCheck(views, extra));
    report.checks.push(groupKeyCheck(views, report.groupKey));
    report.checks.push({
      name: 'culprits-named',
      ok: report.culprits.every((c) => c.ok),
      detail: report.culprits.length ? report.culprits.map((c) => c.detail).join('; ') : 'no Byzantine fault in this schedule',
    });
    const slow = report.faults.filter((r) => r.recoveryRounds === null || r.recoveryRounds > bound);
    report.checks.push({
      name: 'transfers-resume',
      ok: slow.length === 0,
      detail: report.faults.length
        ? report.faults.map((r) => `fault ${r.index} (${r.kind}): ${r.recoveryRounds === null ? 'probe not paid' : `${r.recoveryRounds} rounds`}`).join('; ') + ` (bound ${bound})`
        : 'no faults',
    });
    report.checks.push({
      name: 'all-transfers-paid',
      ok: report.transfers.paid === report.transfers.requested,
      detail: `${report.transfers.paid} of ${report.transfers.requested} requested transfers paid on chain` + (report.transfers.paid < report.transfers.requested ? `; unpaid: ${transfers.filter((t) => t.paidAt === null).map((t) => t.id.slice(0, 8)).join(', ')}` : ''),
    });
    const faultErrors = report.faults.filter((r) => r.error);
    if (faultErrors.length) report.checks.push({ name: 'faults-injected', ok: false, detail: faultErrors.map((r) => `fault ${r.index}: ${r.error}`).join('; ') });
  } catch (e) {
    report.error = errorMessage(e);
    out(`chaos run failed: ${report.error}`);
  } finally {
    await fed?.stop().catch(() => {});
  }
  report.ok = report.error === undefined && report.checks.length > 0 && report.checks.every((c) => c.ok);
  report.durationMs = Date.now() - started;
  for (const c of report.checks) out(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  if (report.ok && !opts.keep && !opts.dir) rmSync(dir, { recursive: true, force: true });
  return report;
}
