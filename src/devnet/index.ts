// `npm start` / `metanode devnet`: a whole federation on loopback. Starts the devchain and N node
// processes (startProcessFederation: staked operators, stakes aged 72 h), shows keygen progress
// until the key is locked in, then keeps submitting transfer requests and paying their deposits,
// printing one line per custody round. Stops after --duration, on Ctrl-C, or once enough
// transfers are paid, and returns the summary (the CLI prints it, as text or JSON).
import { join, resolve } from 'node:path';
import { startProcessFederation, type ChainAccess, type ProcessFederation, type FederationKey } from './federation.js';
import { ROOT, sleep } from './proc-node.js';
import { LiveView } from './view.js';
import { custodyTxs, type DevnetSummary } from './summary.js';
import { errorMessage } from '../util/errors.js';
import { auditFederation } from './audit.js';
import { sheetJson, type BalanceSheetJson } from './balance-sheet.js';

export type { DevnetSummary };

export interface DevnetOptions {
  /** 3..15 (default 5). */
  nodes?: number;
  /** Where the devnet keeps its state (default .devnet in the checkout). */
  dataDir?: string;
  /** false: keep (and resume) the state in dataDir; default: start fresh. */
  fresh?: boolean;
  /** Base node config file (default config/devnet.yaml). */
  config?: string;
  /** Deep-merged over the base config for every node (e.g. faster schedules in tests). */
  overrides?: Record<string, unknown>;
  /** Devchain on P, libp2p on P+1.., HTTP on P+101.. (default 47100). */
  basePort?: number;
  /** Devchain block interval (default 2 000). */
  blockIntervalMs?: number;
  /** How the nodes read the devchain: its Esplora API (default) or its Bitcoin Core JSON-RPC. */
  chain?: ChainAccess;
  /** keygen_until = start + this (default 40 000). */
  keygenUntilMs?: number;
  /** Stop after this many seconds (default: run until Ctrl-C). */
  durationSec?: number;
  /** Stop once this many of the submitted transfers are paid. */
  untilPaid?: number;
  /** Transfers submitted per batch (default 3). */
  transfers?: number;
  /** Seconds between batches after the first (default 30; 0 = one batch only). */
  batchEverySec?: number;
  /** Where live-view lines go (default stdout; the CLI sends them to stderr with --json). */
  out?: (line: string) => void;
  /** Stops the run like Ctrl-C does. */
  signal?: AbortSignal;
}

export const DEVNET_MAX_NODES = 15;
export const DEVNET_DEFAULTS = { nodes: 5, basePort: 47100, blockIntervalMs: 2_000, keygenUntilMs: 40_000, transfers: 3, batchEverySec: 30 } as const;

function validate(o: DevnetOptions): void {
  const whole = (name: string, v: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${v}`);
  };
  // One machine next to a terminal: 15 processes is plenty (the benchmarks use startProcessFederation directly, up to 30).
  whole('--nodes', o.nodes, 3, DEVNET_MAX_NODES);
  whole('--duration', o.durationSec, 1);
  whole('--until-paid', o.untilPaid, 1);
  whole('transfers per batch', o.transfers, 1, 100);
  whole('seconds between batches', o.batchEverySec, 0);
  whole('keygenUntilMs', o.keygenUntilMs, 0);
  if (o.chain !== undefined && o.chain !== 'esplora' && o.chain !== 'bitcoind') throw new Error(`--chain must be esplora or bitcoind, got ${String(o.chain)}`);
}

class Stopped extends Error {}

export async function runDevnet(opts: DevnetOptions = {}): Promise<DevnetSummary> {
  validate(opts);
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const d = { ...DEVNET_DEFAULTS, ...definedOnly(opts) };
  const deadline = opts.durationSec ? Date.now() + opts.durationSec * 1000 : Infinity;

  // Ctrl-C (or SIGTERM, SIGHUP, opts.signal) ends the run the normal way: summary, then stop.
  // A second Ctrl-C quits at once (the node processes get SIGTERM on exit).
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    out(`devnet: ${sig}: stopping after the summary (again to quit at once)`);
    stop.abort();
  };
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) stop.abort();
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  const over = () => stop.signal.aborted || Date.now() >= deadline;
  const stopped = new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }));

  let fed: ProcessFederation | undefined;
  try {
    fed = await startProcessFederation({
      nodes: d.nodes,
      dir: resolve(opts.dataDir ?? join(ROOT, '.devnet')),
      fresh: opts.fresh,
      basePort: d.basePort,
      blockIntervalMs: d.blockIntervalMs,
      keygenUntilMs: d.keygenUntilMs,
      chain: opts.chain,
      baseConfig: opts.config,
      config: opts.overrides,
      out,
    });
    const view = new LiveView(fed.nodes, out);
    const submitted: Submitted[] = [];
    let key: FederationKey | null = null;
    if (!over()) {
      out(`keygen: epochs run on the keygen schedule until ${fed.keygenUntil.toISOString()}, then the key is locked in`);
      try {
        key = await fed.waitForKey(deadline - Date.now(), (states) => {
          if (over()) throw new Stopped();
          view.keygen(states, fed!.keygenUntil);
        });
        out(`federation ready: epoch ${key.epoch} locked in, vault ${key.vaultAddress}, threshold ${key.threshold} of ${fed.nodes.length}`);
      } catch (e) {
        if (!(e instanceof Stopped) && !over()) throw e;
      }
    }

    let nextBatch = Date.now();
    const paid = () => submitted.filter((t) => view.transfers.get(t.id)?.state === 'paid').length;
    while (key && !over() && !(opts.untilPaid && paid() >= opts.untilPaid)) {
      if (Date.now() >= nextBatch) {
        await submitBatch(fed, d.transfers, submitted, out).catch((e) => out(`transfers: batch failed: ${errorMessage(e)}`));
        nextBatch = d.batchEverySec > 0 ? Date.now() + d.batchEverySec * 1000 : Infinity;
      }
      await view.refresh();
      if (opts.untilPaid && paid() >= opts.untilPaid) break;
      await Promise.race([sleep(2_000), stopped]);
    }

    await view.gatherAll();
    const balanceSheet = key ? await devnetBalanceSheet(fed, out) : null;
    const summary: DevnetSummary = {
      network: 'regtest',
      nodes: fed.nodes.map((x) => ({ peerId: x.peerId, dataDir: x.dir, api: x.api.baseUrl })),
      threshold: key?.threshold ?? null,
      groupKey: key?.groupKey ?? null,
      vaultAddress: key?.vaultAddress ?? null,
      transfers: submitted.map((t) => {
        const seen = view.transfers.get(t.id);
        return { ...t, status: seen?.state ?? 'unknown', txid: seen?.txid ?? null, confirmations: seen?.confirmations ?? null };
      }),
      txs: await custodyTxs(fed.chain, view.txids),
      rewards: view.rewards
        ? { transfers: view.rewards.totals.transfers, minerFeesSats: view.rewards.totals.minerFeesSats, poolSats: view.rewards.totals.poolSats, peers: view.rewards.peers.map((p) => ({ peerId: p.peerId, accruedSats: p.accruedSats, paidSats: p.paidSats, inFlightSats: p.inFlightSats, balanceSats: p.balanceSats })) }
        : null,
      balanceSheet,
    };
    return summary;
  } finally {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
    opts.signal?.removeEventListener('abort', onAbort);
    if (fed) {
      out('devnet: stopping nodes and devchain');
      await fed.stop();
    }
  }
}

/** The balance sheet over the devchain and the running nodes; a node a block behind is waited for up to 10 s. */
async function devnetBalanceSheet(fed: ProcessFederation, out: (l: string) => void): Promise<BalanceSheetJson | null> {
  try {
    return sheetJson(await auditFederation({ esploraUrl: fed.devchain.url, nodes: fed.nodes.filter((x) => x.running), network: 'regtest', settleMs: 10_000 }));
  } catch (e) {
    out(`balance sheet: not made (${errorMessage(e)})`);
    return null;
  }
}

type Submitted = Pick<DevnetSummary['transfers'][number], 'id' | 'depositAddress' | 'amountSats' | 'payoutAddress'>;

/** Transfer requests at rotating nodes, each with its deposit paid from the faucet. */
async function submitBatch(fed: ProcessFederation, count: number, into: Submitted[], out: (l: string) => void): Promise<void> {
  const up = fed.nodes.filter((x) => x.running);
  const first = into.length;
  for (let i = 0; i < count && up.length; i++) {
    const node = up[(first + i) % up.length]!;
    const t = await fed.requestTransfer(node, 50_000 + Math.floor(Math.random() * 50_000));
    into.push({ id: t.id, depositAddress: t.depositAddress, amountSats: t.amountSats, payoutAddress: t.payoutAddress });
    out(`transfer ${t.id.slice(0, 8)}: ${t.amountSats} sats requested at ${node.name}; deposit ${t.depositTxid.slice(0, 12)} to ${t.depositAddress.slice(0, 20)}…`);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
