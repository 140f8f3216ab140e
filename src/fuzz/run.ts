// The fuzz run: `cases` seeded cases spread over the targets (peer messages, HTTP API, chain
// sources). Case i is built from Prng(seed).fork(i) alone, so any case replays from (seed, i).
// Every case must be refused with a reason; the report counts refusals by reason and lists each
// failure (an acceptance, a crash, a wrong error) with what replays it.
import { Prng } from '../util/prng.js';
import { MessageFuzzer, corpusProblems } from './messages.js';
import { chainWorld, chainWorldProblems, esploraCase, bitcoindCase } from './chain.js';
import { httpCase, httpTargetProblems, startHttpTarget, type HttpTarget } from './http.js';
import type { FuzzCase, FuzzTarget } from './types.js';

export const FUZZ_TARGETS: FuzzTarget[] = ['gossip', 'direct-request', 'direct-response', 'http', 'esplora', 'bitcoind'];
/** Share of cases per target (sums to 100). */
const WEIGHTS: Record<FuzzTarget, number> = { gossip: 30, 'direct-request': 10, 'direct-response': 10, http: 20, esplora: 15, bitcoind: 15 };

export interface FuzzOptions {
  cases: number;
  seed: string;
  /** Only these targets (default all). */
  targets?: FuzzTarget[];
  /** Run only case `only` (a replay). */
  only?: number;
  /** Progress lines. */
  out?: (line: string) => void;
}

export interface FuzzFailure {
  index: number;
  target: FuzzTarget;
  subject: string;
  op: string;
  detail: string;
  failure: string;
  replay: string;
}

export interface TargetReport {
  cases: number;
  refused: number;
  byReason: Record<string, number>;
  bySubject: Record<string, number>;
  byOp: Record<string, number>;
}

export interface FuzzReport {
  seed: string;
  cases: number;
  passed: number;
  failed: number;
  durationMs: number;
  /** Corpus and world checks: the unchanged inputs must be accepted. */
  sanity: string[];
  targets: Partial<Record<FuzzTarget, TargetReport>>;
  failures: FuzzFailure[];
}

function targetFor(rng: Prng, targets: FuzzTarget[]): FuzzTarget {
  const total = targets.reduce((a, t) => a + WEIGHTS[t], 0);
  let x = rng.int(total);
  for (const t of targets) {
    x -= WEIGHTS[t];
    if (x < 0) return t;
  }
  return targets[targets.length - 1]!;
}

/** Reasons without ids, hashes, sizes or echoed input, so that equal refusals count together. */
export function normaliseReason(r: string): string {
  return r
    .replace(/[0-9a-f]{64}/g, '<hash>')
    .replace(/[0-9a-f]{16,}/g, '<hex>')
    .replace(/(bcrt|tb|bc)1[02-9ac-hj-np-z]{8,}/g, '<address>')
    .replace(/\d{4,}/g, 'N')
    .trim()
    .slice(0, 110);
}

const inc = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const targets = opts.targets?.length ? opts.targets : FUZZ_TARGETS;
  const root = new Prng(opts.seed);
  const messages = new MessageFuzzer();
  const world = chainWorld();
  let http: HttpTarget | undefined;
  const report: FuzzReport = { seed: opts.seed, cases: 0, passed: 0, failed: 0, durationMs: 0, sanity: [], targets: {}, failures: [] };
  try {
    report.sanity.push(...corpusProblems(messages), ...(await chainWorldProblems(world)));
    if (targets.includes('http')) {
      http = await startHttpTarget();
      report.sanity.push(...(await httpTargetProblems(http, root.fork('sanity'))));
    }
    const indices = opts.only !== undefined ? [opts.only] : Array.from({ length: opts.cases }, (_, i) => i);
    for (const i of indices) {
      const rng = root.fork(i);
      const target = targetFor(rng, targets);
      let c: FuzzCase;
      switch (target) {
        case 'gossip':
          c = messages.gossip(rng);
          break;
        case 'direct-request':
          c = messages.directRequest(rng);
          break;
        case 'direct-response':
          c = messages.directResponse(rng);
          break;
        case 'http':
          c = httpCase(http!, rng);
          break;
        case 'esplora':
          c = esploraCase(world, rng);
          break;
        case 'bitcoind':
          c = bitcoindCase(world, rng);
          break;
      }
      const t = (report.targets[target] ??= { cases: 0, refused: 0, byReason: {}, bySubject: {}, byOp: {} });
      t.cases++;
      report.cases++;
      inc(t.bySubject, c.subject);
      inc(t.byOp, c.op);
      let outcome;
      try {
        outcome = await c.run();
      } catch (e) {
        outcome = { ok: false as const, failure: `crash in the harness: ${e instanceof Error ? e.stack ?? e.message : String(e)}` };
      }
      if (outcome.ok) {
        t.refused++;
        report.passed++;
        inc(t.byReason, normaliseReason(outcome.reason));
      } else {
        report.failed++;
        const f: FuzzFailure = {
          index: i,
          target,
          subject: c.subject,
          op: c.op,
          detail: c.detail,
          failure: outcome.failure,
          replay: `npm run fuzz -- --seed ${JSON.stringify(opts.seed)} --case ${i}`,
        };
        report.failures.push(f);
        opts.out?.(`FAIL seed=${opts.seed} case=${i} ${target} ${c.subject} ${c.op} ${c.detail}: ${outcome.failure}`);
      }
    }
  } finally {
    await http?.close();
  }
  report.durationMs = Date.now() - started;
  return report;
}

/** Human summary lines for a report. */
export function summarise(r: FuzzReport): string[] {
  const lines = [`fuzz seed=${r.seed}: ${r.cases} cases, ${r.passed} refused with a reason, ${r.failed} failures, ${r.durationMs} ms`];
  for (const s of r.sanity) lines.push(`SANITY: ${s}`);
  for (const [t, x] of Object.entries(r.targets)) {
    lines.push(`  ${t}: ${x.cases} cases over ${Object.keys(x.bySubject).length} subjects, ${Object.keys(x.byReason).length} distinct reasons`);
    const top = Object.entries(x.byReason).sort((a, b) => b[1] - a[1]).slice(0, 6);
    for (const [reason, n] of top) lines.push(`    ${String(n).padStart(5)}  ${reason}`);
  }
  for (const f of r.failures.slice(0, 20)) lines.push(`FAIL case ${f.index} ${f.target} ${f.subject} ${f.op} ${f.detail}: ${f.failure}\n     replay: ${f.replay}`);
  return lines;
}
