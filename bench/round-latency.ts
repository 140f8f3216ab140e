// Round latency: time from a custody round's start to the broadcast of its signed transaction,
// for federations of n node processes on loopback (committee = all n, threshold floor(2n/3)+1).
// Each sample is one transfer: request, deposit (confirmed within a second), then the round that
// pays it; latency = earliest `broadcast` entry in any node's round log − the round boundary.
//
// Flags: --n=5,7,21 (sizes), --samples=3 (transfers per size), --round-sec=20, --quick (n=5, one sample).
import { decodeTx } from '../src/chain/verify.js';
import { parseFlags } from './flags.js';
import { log, machine, roundTiming, stats, transferStates, waitFor, withFederation, type RoundTiming } from './process-federation.js';

export const FLAGS = { quick: 'bool', n: 'ints', samples: 'int', 'round-sec': 'int' } as const;

export function options(args: string[]) {
  const f = parseFlags(args, FLAGS);
  const sizes = (f.n as number[] | undefined) ?? (f.quick ? [5] : [5, 7, 21]);
  for (const n of sizes) if (n < 3 || n > 30) throw new Error(`--n: ${n} is outside 3..30`);
  const roundSec = (f['round-sec'] as number | undefined) ?? 20;
  if (60 % roundSec !== 0) throw new Error(`--round-sec must divide 60, got ${roundSec}`);
  return { sizes, samples: (f.samples as number | undefined) ?? (f.quick ? 1 : 3), roundSec };
}

// One base port per size so that a size never reuses the previous one's ports.
const BASE_PORTS = [49000, 49150, 49300];

export async function main(args: string[] = []) {
  const o = options(args);
  const at = machine();
  const results = [];
  for (const [i, n] of o.sizes.entries()) {
    log(`round-latency: n=${n}, ${o.samples} sample(s), ${o.roundSec}-second rounds`);
    const t0 = Date.now();
    const samples = await withFederation({ nodes: n, basePort: BASE_PORTS[i % BASE_PORTS.length]!, roundSec: o.roundSec }, async (fed) => {
      const key = await fed.waitForKey(240_000);
      log(`  key locked in after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${key.threshold}-of-${n}`);
      const out: (RoundTiming & { inputs: number })[] = [];
      for (let s = 0; s < o.samples; s++) {
        const t = await fed.requestTransfer(fed.nodes[s % n]!, 60_000);
        const paid = await waitFor(
          async () => {
            const st = (await transferStates(fed)).get(t.id);
            return st && (st.state === 'in-flight' || st.state === 'paid') && st.txid ? st.txid : undefined;
          },
          6 * o.roundSec * 1000,
          `transfer ${t.id} to be signed`,
        );
        const timing = await roundTiming(fed, paid, o.roundSec * 1000);
        const tx = await fed.chain.getTx(paid);
        const inputs = tx ? decodeTx(tx.hex, 'CHAIN_BAD_RESPONSE', `tx ${paid}`).inputsLength : 0;
        log(`  sample ${s + 1}: round ${timing.roundId} broadcast ${timing.latencyMs} ms after its start (threshold set ${timing.thresholdSet}, ${inputs} inputs)`);
        out.push({ ...timing, inputs });
      }
      return { threshold: key.threshold, samples: out };
    });
    results.push({ n, threshold: samples.threshold, latencyMs: stats(samples.samples.map((x) => x.latencyMs)), ceremonyMs: stats(samples.samples.map((x) => x.ceremonyMs ?? NaN).filter(Number.isFinite)), samples: samples.samples });
  }
  return { benchmark: 'round-latency', roundSec: o.roundSec, machine: at, results };
}
