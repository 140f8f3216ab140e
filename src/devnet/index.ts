// `npm start` / `metanode devnet`: a whole federation on loopback. Starts the devchain, creates
// N operators (identity keys, stakes funded on the devchain and aged 72 h by moving its clock),
// starts every node as its own process, waits for keygen and lock-in, then keeps feeding
// transfer requests with deposits and prints what the federation does with them.
import { join } from 'node:path';
import { startProcessFederation, type ProcessFederation } from './federation.js';
import { ROOT, sleep } from './proc-node.js';
import { LiveView } from './view.js';
import { errorMessage } from '../util/errors.js';

export interface DevnetOptions {
  nodes?: number;
  dir?: string;
  fresh?: boolean;
  config?: string;
  basePort?: number;
  blockIntervalMs?: number;
  durationSec?: number;
  /** Transfers submitted per batch (default 3). */
  transfers?: number;
  /** Seconds between batches after the first (default 60; 0 = one batch only). */
  batchEverySec?: number;
  /** Where progress lines go (default stdout). */
  out?: (line: string) => void;
}

const DEVNET_MAX_NODES = 15;

export async function runDevnet(opts: DevnetOptions = {}): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const n = opts.nodes ?? 5;
  // The devnet runs on one machine next to a terminal: 15 processes is plenty (benchmarks use
  // startProcessFederation directly, up to 30).
  if (!Number.isInteger(n) || n < 3 || n > DEVNET_MAX_NODES) throw new Error(`--nodes must be between 3 and ${DEVNET_MAX_NODES}, got ${n}`);
  let fed: ProcessFederation | undefined;
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    out('devnet: stopping nodes and devchain');
    await fed?.stop();
  };
  const onSignal = () => void stopAll().then(() => process.exit(0));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    fed = await startProcessFederation({
      nodes: n,
      dir: opts.dir ?? join(ROOT, '.devnet'),
      fresh: opts.fresh,
      basePort: opts.basePort ?? 47100,
      blockIntervalMs: opts.blockIntervalMs ?? 5_000,
      baseConfig: opts.config,
      out,
    });
    const nodes = fed.nodes;
    const view = new LiveView(nodes.map((x) => ({ name: x.name, api: x.api, peerId: x.peerId })), out);
    const deadline = opts.durationSec ? Date.now() + opts.durationSec * 1000 : Infinity;
    await view.waitForKey(fed.keygenUntil, deadline);
    if (Date.now() >= deadline) return 0;

    let nextBatch = Date.now();
    const every = (opts.batchEverySec ?? 60) * 1000;
    while (!stopping && Date.now() < deadline) {
      if (Date.now() >= nextBatch) {
        await submitBatch(fed, opts.transfers ?? 3, out).catch((e) => out(`transfers: batch failed: ${errorMessage(e)}`));
        nextBatch = every > 0 ? Date.now() + every : Infinity;
      }
      await view.refresh();
      await sleep(2_000);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

/** Transfer requests at rotating nodes, each with its deposit paid from the faucet. */
async function submitBatch(fed: ProcessFederation, count: number, out: (l: string) => void): Promise<void> {
  for (let i = 0; i < count; i++) {
    const node = fed.nodes[i % fed.nodes.length]!;
    const t = await fed.requestTransfer(node, 50_000 + Math.floor(Math.random() * 50_000));
    out(`transfer ${t.id.slice(0, 8)}: ${t.amountSats} sats requested at ${node.name}; deposit ${t.depositTxid.slice(0, 12)} to ${t.depositAddress.slice(0, 20)}…`);
  }
}
