// Round latency: time from a custody round's start to the broadcast of its signed transaction,
// for federations of n node processes on loopback (committee = all n unless --committee caps it;
// threshold floor(2c/3)+1 of the committee size c).
// Each sample is one transfer: request, deposit (confirmed within a second), then the round that
// pays it; latency = earliest `broadcast` entry in any node's round log − the round boundary.
//
// Flags: --n=5,7,21 (sizes), --samples=3 (transfers per size), --round-sec (default 20, 30 above
// 10 nodes), --committee=C (committee.max), --quick (n=5, one sample).
import { decodeTx } from '../src/chain/verify.js';
import { parseFlags } from './flags.js';
import { log, machine, roundTiming, stats, transferStates, waitFor, withFederation, type RoundTiming } from './process-federation.js';

export const FLAGS = { quick: 'bool', n: 'ints', samples: 'int', 'round-sec': 'int', committee: 'int' } as const;

export function options(args: string[]) {
  const f = parseFlags(args, FLAGS);
  const sizes = (f.n as number[] | undefined) ?? (f.quick ? [5] : [5, 7, 21]);
  for (const n of sizes) if (n < 3 || n > 30) throw new Error(`--n: ${n} is outside 3..30`);
  const roundSec = f['round-sec'] as number | undefined;
  if (roundSec !== undefined && 60 % roundSec !== 0) throw new Error(`--round-sec must divide 60, got ${roundSec}`);
  const committee = f.committee as number | undefined;
  return { sizes, samples: (f.samples as number | undefined) ?? (f.quick ? 1 : 3), roundSec, committee };
}

// One base port per size so that a size never reuses the previous one's ports.
const BASE_PORTS = [30000, 30150, 30300];

/**
 * Settings per size. Above 10 processes on a small machine, 1-second pings and 6-second peer
 * timeouts drop connections while the nodes start and compute (every node's event loop lags), so
 * larger federations ping at the config default and get longer keygen slots and rounds.
 */
export function settingsFor(n: number, roundSec: number | undefined) {
  const big = n > 10;
  return {
    roundSec: roundSec ?? (big ? 30 : 20),
    keygenSec: big ? 30 : 10,
    pingIntervalMs: big ? 3_000 : 1_000,
    peerTimeoutMs: big ? 20_000 : 6_000,
    keygenUntilMs: big ? 30_000 + 6_000 * n : 20_000 + 4_000 * n,
  };
}

export async function main(args: string[] = []) {
  const o = options(args);
  const at = machine();
  const results = [];
  for (const [i, n] of o.sizes.entries()) {
    const set = { ...settingsFor(n, o.roundSec), committeeMax: Math.min(n, o.committee ?? n) };
    log(`round-latency: n=${n}, ${o.samples} sample(s), ${set.roundSec}-second rounds`);
    const t0 = Date.now();
    try {
      const r = await withFederation({ nodes: n, basePort: BASE_PORTS[i % BASE_PORTS.length]!, ...set }, async (fed) => {
        const key = await fed.waitForKey(set.keygenUntilMs + 180_000);
        log(`  key locked in after ${((Date.now() - t0) / 1000).toFixed(0)} s: threshold ${key.threshold}, committee ${set.committeeMax} of ${n} nodes`);
        const out: (RoundTiming & { inputs: number })[] = [];
        for (let s = 0; s < o.samples; s++) {
          const t = await fed.requestTransfer(fed.nodes[s % n]!, 60_000);
          const signed = await waitFor(
            async () => {
              const st = (await transferStates(fed)).get(t.id);
              return st && (st.state === 'in-flight' || st.state === 'paid') && st.txid ? st.txid : undefined;
            },
            6 * set.roundSec * 1000,
            `transfer ${t.id} to be signed`,
          );
          const timing = await roundTiming(fed, signed, set.roundSec * 1000);
          const tx = await fed.chain.getTx(signed);
          const inputs = tx ? decodeTx(tx.hex, 'CHAIN_BAD_RESPONSE', `tx ${signed}`).inputsLength : 0;
          log(`  sample ${s + 1}: round ${timing.roundId} broadcast ${timing.latencyMs} ms after its start (threshold set ${timing.thresholdSet}, ${inputs} inputs)`);
          out.push({ ...timing, inputs });
        }
        return { threshold: key.threshold, samples: out };
      });
      results.push({ n, committee: set.committeeMax, threshold: r.threshold, settings: set, latencyMs: stats(r.samples.map((x) => x.latencyMs)), ceremonyMs: stats(r.samples.map((x) => x.ceremonyMs ?? NaN).filter(Number.isFinite)), samples: r.samples });
    } catch (e) {
      // One size failing (e.g. too many processes for the machine) still reports the others.
      log(`  n=${n} failed: ${(e as Error).message}`);
      results.push({ n, settings: set, error: (e as Error).message });
    }
  }
  return { benchmark: 'round-latency', machine: at, results };
}
