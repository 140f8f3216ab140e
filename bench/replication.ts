// Request-store replication: R transfer requests submitted over the HTTP API, spread over the
// nodes in turn, and the time until every node holds all R. Records per second = R / (time from
// the first submission until the last node has the last record). Submission runs at full speed,
// one request at a time; the nodes' own rounds stay idle (no deposits).
//
// Replication settings are config/devnet.yaml's (records per pull, sleep between pulls) unless
// --limit sets records per pull.
//
// Flags: --n=7, --records=300, --limit=N (1..100), --quick (n=4, 50 records).
import { parseFlags } from './flags.js';
import { log, machine, waitFor, withFederation } from './process-federation.js';
import { randomTaprootAddress } from '../src/devnet/wallet.js';
import { loadBaseConfig } from '../src/devnet/node-config.js';

export const FLAGS = { quick: 'bool', n: 'int', records: 'int', limit: 'int' } as const;

export function options(args: string[]) {
  const f = parseFlags(args, FLAGS);
  const n = (f.n as number | undefined) ?? (f.quick ? 4 : 7);
  if (n < 3 || n > 30) throw new Error(`--n: ${n} is outside 3..30`);
  const records = (f.records as number | undefined) ?? (f.quick ? 50 : 300);
  // GET /v1/transfers answers at most 1000 rows, which is how convergence is read.
  if (records > 1000) throw new Error(`--records must be at most 1000, got ${records}`);
  const limit = f.limit as number | undefined;
  if (limit !== undefined && limit > 100) throw new Error(`--limit must be at most 100 (the protocol's cap), got ${limit}`);
  return { n, records, limit };
}

export async function main(args: string[] = []) {
  const o = options(args);
  const at = machine();
  log(`replication: n=${o.n}, ${o.records} records`);
  const replication = { ...(loadBaseConfig(undefined).replication as Record<string, number>), ...(o.limit ? { limit: o.limit } : {}) };
  const r = await withFederation({ nodes: o.n, basePort: 30600, config: { replication } }, async (fed) => {
    await fed.waitForKey(240_000);
    const ids: string[] = [];
    const have = fed.nodes.map(() => 0);
    const t0 = performance.now();
    for (let i = 0; i < o.records; i++) {
      const node = fed.nodes[i % o.n]!;
      const rec = await node.api.post<{ id: string }>('/v1/requests', {
        amountSats: String(50_000 + i),
        payoutAddress: randomTaprootAddress(),
        refundAddress: randomTaprootAddress(),
        expiry: Math.floor(Date.now() / 1000) + 3600,
      });
      ids.push(rec.id);
    }
    const submitted = performance.now();
    log(`  submitted ${o.records} in ${((submitted - t0) / 1000).toFixed(1)} s`);
    const want = new Set(ids);
    const convergedAt = fed.nodes.map(() => 0);
    await waitFor(
      async () => {
        await Promise.all(
          fed.nodes.map(async (node, i) => {
            if (convergedAt[i]) return;
            const list = await node.api.get<{ request: { id: string } }[]>('/v1/transfers', { limit: 1000 });
            have[i] = list.filter((t) => want.has(t.request.id)).length;
            if (have[i] === o.records) convergedAt[i] = performance.now();
          }),
        );
        return convergedAt.every((t) => t > 0);
      },
      300_000,
      `all ${o.records} records on every node (have ${have.join(',')})`,
      200,
    );
    const last = Math.max(...convergedAt);
    return {
      submitSeconds: (submitted - t0) / 1000,
      convergeSeconds: (last - t0) / 1000,
      lagAfterLastSubmitMs: Math.round(last - submitted),
      perNodeSeconds: convergedAt.map((t) => Math.round(t - t0) / 1000),
    };
  });
  const round = (v: number) => Math.round(v * 10) / 10;
  const result = {
    benchmark: 'replication',
    n: o.n,
    records: o.records,
    replication,
    machine: at,
    recordsPerSecond: round(o.records / r.convergeSeconds),
    submitRecordsPerSecond: round(o.records / r.submitSeconds),
    convergeSeconds: round(r.convergeSeconds),
    lagAfterLastSubmitMs: r.lagAfterLastSubmitMs,
    perNodeSeconds: r.perNodeSeconds,
  };
  log(`  converged on ${o.n} nodes: ${result.recordsPerSecond} records/s (submission alone ${result.submitRecordsPerSecond}/s)`);
  return result;
}
