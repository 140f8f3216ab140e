// One custody transaction with many inputs, signed in one ceremony: I transfer requests, each
// with its deposit, all confirmed in the same block (the devchain mines only when told to), so
// the next round pays all of them in one transaction with I deposit inputs. Reports the round's
// latency (start to broadcast), the ceremony's share of it, and the transaction's size; or, when
// the round aborts (e.g. a stage outlasts its timeout), why, and when each phase was reached.
//
// Flags: --n=7, --inputs=100, --round-sec=30, --quick (n=4, 20 inputs).
import { decodeTx } from '../src/chain/verify.js';
import { parseFlags } from './flags.js';
import { log, machine, phaseBreakdown, roundLogs, roundTiming, transferStates, waitFor, withFederation } from './process-federation.js';

interface RoundJson {
  roundId: number;
  status: string;
  reason?: string;
  culprits?: string[];
}

// Each node polls every watched deposit address once per chain poll; with I open requests on n
// nodes a fast poll makes the chain source the bottleneck, so this benchmark polls every 2 s.
const CHAIN_POLL_MS = 2_000;

export const FLAGS = { quick: 'bool', n: 'int', inputs: 'int', 'round-sec': 'int' } as const;

export function options(args: string[]) {
  const f = parseFlags(args, FLAGS);
  const n = (f.n as number | undefined) ?? (f.quick ? 4 : 7);
  if (n < 3 || n > 30) throw new Error(`--n: ${n} is outside 3..30`);
  const inputs = (f.inputs as number | undefined) ?? (f.quick ? 20 : 100);
  if (inputs > 500) throw new Error(`--inputs must be at most 500, got ${inputs}`);
  const roundSec = (f['round-sec'] as number | undefined) ?? 30;
  if (60 % roundSec !== 0) throw new Error(`--round-sec must divide 60, got ${roundSec}`);
  return { n, inputs, roundSec };
}

export async function main(args: string[] = []) {
  const o = options(args);
  const at = machine();
  log(`big-tx: n=${o.n}, ${o.inputs} inputs, ${o.roundSec}-second rounds`);
  const r = await withFederation({ nodes: o.n, basePort: 30750, blockIntervalMs: 0, chainPollMs: CHAIN_POLL_MS, roundSec: o.roundSec }, async (fed) => {
    const key = await fed.waitForKey(240_000);
    const ids: string[] = [];
    for (let i = 0; i < o.inputs; i++) ids.push((await fed.requestTransfer(fed.nodes[i % o.n]!, 20_000 + i)).id);
    log(`  ${o.inputs} requests submitted and their deposits in the mempool`);
    // Every node must hold every request before the deposits confirm, or a round could pay a part.
    await waitFor(
      async () => (await Promise.all(fed.nodes.map((_, i) => transferStates(fed, i)))).every((m) => ids.every((id) => m.has(id))),
      120_000,
      'every request on every node',
      500,
    );
    const minedRound = Math.floor(Date.now() / (o.roundSec * 1000));
    await fed.faucet.mine(1);
    log('  deposits confirmed in one block; waiting for the round that pays them');
    const outcome = await waitFor(
      async () => {
        // An aborted round ends the attempt: its culprits are blocklisted for a while, so waiting
        // for the next round would measure something else.
        const aborted = (await fed.nodes[0]!.api.get<RoundJson[]>('/v1/rounds', { limit: 20 })).find((x) => x.roundId >= minedRound && x.status === 'aborted');
        if (aborted) return { aborted };
        const st = await transferStates(fed);
        const txids = ids.map((id) => st.get(id)).map((t) => (t && (t.state === 'in-flight' || t.state === 'paid') ? t.txid : null));
        if (txids.some((t) => !t)) return undefined;
        const counts = new Map<string, number>();
        for (const t of txids) counts.set(t!, (counts.get(t!) ?? 0) + 1);
        return { counts };
      },
      5 * o.roundSec * 1000,
      `all ${o.inputs} transfers to be signed`,
      500,
    );
    if ('aborted' in outcome) {
      const r = outcome.aborted!;
      const phasesMs = phaseBreakdown(await roundLogs(fed, r.roundId), r.roundId * o.roundSec * 1000);
      return {
        signed: false as const,
        threshold: key.threshold,
        roundId: r.roundId,
        reason: r.reason ?? null,
        culprits: r.culprits?.length ?? 0,
        // ms after the round's start: first and last node to reach each step
        phasesMs,
      };
    }
    const byTx = outcome.counts!;
    const [txid] = [...byTx.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const timing = await roundTiming(fed, txid, o.roundSec * 1000);
    const tx = await waitFor(async () => (await fed.chain.getTx(txid)) ?? undefined, 10_000, `tx ${txid} on the chain`);
    const parsed = decodeTx(tx.hex, 'CHAIN_BAD_RESPONSE', `tx ${txid}`);
    return { signed: true as const, threshold: key.threshold, timing, txs: byTx.size, inputs: parsed.inputsLength, outputs: parsed.outputsLength, vsize: parsed.vsize, bytes: tx.hex.length / 2 };
  });
  const head = { benchmark: 'big-tx', n: o.n, threshold: r.threshold, roundSec: o.roundSec, machine: at, transfers: o.inputs };
  if (!r.signed) {
    log(`  round ${r.roundId} aborted: ${r.reason}; phases (ms after start) ${JSON.stringify(r.phasesMs)}`);
    return { ...head, signed: false, roundId: r.roundId, reason: r.reason, culprits: r.culprits, phasesMs: r.phasesMs };
  }
  log(`  ${r.inputs}-input tx broadcast ${r.timing.latencyMs} ms after the round started (ceremony ${r.timing.ceremonyMs} ms)`);
  return {
    ...head,
    signed: true,
    /** How many transactions paid the transfers (1 = all in one ceremony). */
    transactions: r.txs,
    inputs: r.inputs,
    outputs: r.outputs,
    vsize: r.vsize,
    bytes: r.bytes,
    latencyMs: r.timing.latencyMs,
    ceremonyMs: r.timing.ceremonyMs,
    phasesMs: r.timing.phasesMs,
    roundId: r.timing.roundId,
    txid: r.timing.txid,
  };
}
