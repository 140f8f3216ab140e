// A federation of metanode processes on loopback, shared by the devnet, the chaos harness and the
// multi-process benchmarks (contract: notes/helpers/federation-api.md). Starts the devchain, creates
// N operators (identity keys, stakes funded on the devchain and aged 72 h by moving its clock),
// writes one config per node and starts every node as its own process.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { startDevchain, type RunningDevchain } from '../chain/devchain/index.js';
import { DevchainClient } from '../chain/devchain/client.js';
import { createChainSource } from '../chain/factory.js';
import type { ChainSource } from '../chain/types.js';
import { Keystore } from '../keystore/index.js';
import { errorMessage } from '../util/errors.js';
import { createDevWallet, randomTaprootAddress, type DevWallet } from './wallet.js';
import { loadBaseConfig, nodeConfig, type ConfigObject } from './node-config.js';
import { createProcNode, sleep, type ProcNode } from './proc-node.js';

export type { ProcNode };

export interface FederationOptions {
  /** 3..30 */
  nodes: number;
  /** Created (mode 0700); wiped first unless fresh === false. */
  dir: string;
  /** false: keep dir; a federation.json from an earlier run with as many nodes is resumed (same keys, stakes, chain). */
  fresh?: boolean;
  /** Devchain on P, libp2p on P+1.., HTTP on P+101.. */
  basePort: number;
  /** Devchain auto-mining (0 = manual; default 5 000). */
  blockIntervalMs?: number;
  /** Path of a YAML or an object; default config/devnet.yaml. */
  baseConfig?: string | Record<string, unknown>;
  /** Deep-merged over the base for every node. */
  config?: Record<string, unknown>;
  /** Deep-merged last, per node. */
  perNode?: (index: number) => Record<string, unknown> | undefined;
  /**
   * How the nodes read the devchain: 'esplora' (default), or 'bitcoind': its Bitcoin Core JSON-RPC
   * with the cookie, each node following its addresses in a watch-only wallet of its own.
   */
  chain?: ChainAccess;
  /** keygen_until = now + this (default 75 000), counted once the stakes are in place. */
  keygenUntilMs?: number;
  /** Extra env for the node processes. */
  env?: Record<string, string>;
  /** A script run in place of the metanode CLI for every node (a test wrapper; see ProcNodeSpec.entry). */
  entry?: string;
  /** Progress lines. */
  out?: (line: string) => void;
}

/** One node's view of the vault key, as its API reports it. */
export interface NodeKeyState {
  name: string;
  running: boolean;
  /** Node activity (idle, keygen, signing ...); null when the API did not answer. */
  state: string | null;
  epoch: number | null;
  vaultAddress: string | null;
  outputKey: string | null;
  threshold: number | null;
  committeeSize: number | null;
  /** The current epoch is locked in (keygen_until passed). */
  locked: boolean;
}

export interface FederationKey {
  epoch: number;
  groupKey: string;
  vaultAddress: string;
  threshold: number;
}

export interface RequestedTransfer {
  id: string;
  depositAddress: string;
  payoutAddress: string;
  amountSats: number;
  depositTxid: string;
}

export interface ProcessFederation {
  dir: string;
  devchain: RunningDevchain;
  faucet: DevchainClient;
  chain: ChainSource;
  wallet: DevWallet;
  nodes: ProcNode[];
  keygenUntil: Date;
  /** The threshold most running nodes report for their current key; null before any key. */
  threshold(): Promise<number | null>;
  /** Every node's key state (API reads; nodes not running or not answering show nulls). */
  keyStates(): Promise<NodeKeyState[]>;
  /** Resolves once keygen_until has passed and all running nodes are locked in on one key, none in a keygen. */
  waitForKey(timeoutMs: number, onPoll?: (states: NodeKeyState[]) => void): Promise<FederationKey>;
  /** A transfer request at `at` with its deposit paid from the faucet (unconfirmed until the next block). */
  requestTransfer(at: ProcNode, amountSats: number): Promise<RequestedTransfer>;
  /** Every node and the devchain, bounded in time; idempotent. */
  stop(): Promise<void>;
}

export type ChainAccess = 'esplora' | 'bitcoind';

export const MAX_NODES = 30;
const STAKE_SATS = 200_000n;
const MANIFEST = 'federation.json';

interface Manifest {
  passphrase: string;
  nodes: { peerId: string; stake: { txid: string; vout: number } }[];
}

function validate(opts: FederationOptions): void {
  const { nodes, basePort } = opts;
  if (!Number.isInteger(nodes) || nodes < 3 || nodes > MAX_NODES) throw new Error(`nodes must be a whole number from 3 to ${MAX_NODES}, got ${nodes}`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 100 + MAX_NODES > 65535)
    throw new Error(`basePort must be a whole number from 1024 to ${65535 - 100 - MAX_NODES}, got ${basePort}`);
  if (typeof opts.dir !== 'string' || opts.dir.trim() === '') throw new Error('dir must be a directory path');
  if (opts.blockIntervalMs !== undefined && (!Number.isInteger(opts.blockIntervalMs) || opts.blockIntervalMs < 0))
    throw new Error(`blockIntervalMs must be a whole number of ms >= 0, got ${opts.blockIntervalMs}`);
  if (opts.keygenUntilMs !== undefined && (!Number.isFinite(opts.keygenUntilMs) || opts.keygenUntilMs < 0))
    throw new Error(`keygenUntilMs must be a number of ms >= 0, got ${opts.keygenUntilMs}`);
}

function readManifest(dir: string, n: number): Manifest | null {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) return null;
  const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  return typeof m.passphrase === 'string' && Array.isArray(m.nodes) && m.nodes.length === n ? m : null;
}

export async function startProcessFederation(opts: FederationOptions): Promise<ProcessFederation> {
  validate(opts);
  const out = opts.out ?? (() => {});
  const n = opts.nodes;
  const base = opts.basePort;
  const dir = resolve(opts.dir);
  if (opts.fresh !== false && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const baseConfig = loadBaseConfig(opts.baseConfig);
  const scryptN = Number((baseConfig.keystore as ConfigObject | undefined)?.scryptN ?? 1024);
  const resumed = opts.fresh === false ? readManifest(dir, n) : null;
  // The devnet's keys are throwaway; the passphrase is kept (0600) only so that a resumed run can open them.
  const passphrase = resumed?.passphrase ?? randomBytes(18).toString('base64url');

  const blockIntervalMs = opts.blockIntervalMs ?? 5_000;
  const devchain = await startDevchain({ port: base, host: '127.0.0.1', dataDir: join(dir, 'devchain'), blockIntervalMs, network: 'regtest' });
  const nodes: ProcNode[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.allSettled(nodes.map((x) => x.stop()));
      await devchain.close().catch(() => {});
    })());

  try {
    const access = opts.chain ?? 'esplora';
    out(
      `devchain: ${access === 'bitcoind' ? `Bitcoin Core JSON-RPC (cookie ${devchain.rpc.cookieFile})` : 'Esplora API'} at ${devchain.url} (${blockIntervalMs > 0 ? `blocks every ${blockIntervalMs / 1000}s` : 'blocks on demand'})`,
    );
    const faucet = new DevchainClient(devchain.url);
    const chain = createChainSource({ kind: 'devchain', url: devchain.url, network: 'regtest' });
    const wallet = createDevWallet(faucet, chain);

    // Identity keys first: their peer ids go into the stakes and the bootstrap lists.
    const peerIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const ks = Keystore.open({ dir: join(dir, `node-${i + 1}`, 'keys'), passphrase, scryptN, create: true });
      peerIds.push((await ks.init()).peerId);
    }
    if (resumed && resumed.nodes.some((x, i) => x.peerId !== peerIds[i])) throw new Error(`${join(dir, MANIFEST)} does not match the keys in ${dir}; start fresh`);

    // Stakes: one funded output per operator committing to its peer id and a reward address,
    // confirmed, then aged past the 72-hour minimum by moving the devchain clock forward.
    let stakes = resumed?.nodes.map((x) => x.stake);
    if (!stakes) {
      stakes = [];
      for (const peerId of peerIds) stakes.push(await wallet.stake({ peerId, rewardAddress: randomTaprootAddress(), amount: STAKE_SATS }));
      await faucet.mine(1);
      await faucet.advanceClock(73 * 3600);
      await faucet.mine(1);
      const manifest: Manifest = { passphrase, nodes: peerIds.map((peerId, i) => ({ peerId, stake: stakes![i]! })) };
      writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2), { mode: 0o600 });
      out(`stakes: ${n} operators staked ${STAKE_SATS} sats each; devchain clock moved 73 h so the stakes are old enough`);
    } else out(`stakes: resuming ${n} operators from ${join(dir, MANIFEST)}`);

    const keygenUntil = new Date(Date.now() + (opts.keygenUntilMs ?? 75_000));
    const p2pPort = (i: number) => base + i + 1;
    const httpPort = (i: number) => base + 100 + i + 1;
    for (let i = 0; i < n; i++) {
      const ndir = join(dir, `node-${i + 1}`);
      const configFile = join(ndir, 'metanode.yaml');
      const cfg = nodeConfig(
        baseConfig,
        opts.config,
        {
          dir: ndir,
          p2pPort: p2pPort(i),
          httpPort: httpPort(i),
          stake: stakes[i]!,
          bootstrap: peerIds.flatMap((id, j) => (j === i ? [] : [`/ip4/127.0.0.1/tcp/${p2pPort(j)}/p2p/${id}`])),
          chain:
            access === 'bitcoind'
              ? { source: 'bitcoind', bitcoind: { url: devchain.url, cookieFile: devchain.rpc.cookieFile!, wallet: `metanode-node-${i + 1}` } }
              : { source: 'esplora', esploraUrl: devchain.url },
          keygenUntil,
        },
        opts.perNode?.(i),
      );
      writeFileSync(configFile, YAML.stringify(cfg), { mode: 0o600 });
      nodes.push(
        createProcNode({
          index: i,
          name: `node-${i + 1}`,
          dir: ndir,
          peerId: peerIds[i]!,
          p2pPort: p2pPort(i),
          httpPort: httpPort(i),
          configFile,
          passphrase,
          env: opts.env,
          entry: opts.entry,
          // Every node compiles the sources through tsx at once: on two cores 30 of them take a while.
          startWaitMs: 20_000 + 2_000 * n,
          out,
        }),
      );
    }
    await Promise.all(nodes.map((x) => x.start()));
    out(`nodes: ${nodes.map((x) => `${x.name} api=http://127.0.0.1:${x.httpPort}`).join(', ')}`);
    out(`logs: ${dir}/node-*/node.log   inspect: node bin/metanode.js --api http://127.0.0.1:${httpPort(0)} rounds`);

    const keyStates = () => Promise.all(nodes.map((x) => keyStateOf(x)));
    const fed: ProcessFederation = {
      dir,
      devchain,
      faucet,
      chain,
      wallet,
      nodes,
      keygenUntil,
      keyStates,
      async threshold() {
        return mostCommon((await keyStates()).map((s) => s.threshold).filter((t): t is number => t !== null));
      },
      async waitForKey(timeoutMs, onPoll) {
        const end = Date.now() + timeoutMs;
        for (;;) {
          const states = await keyStates();
          onPoll?.(states);
          const key = agreedKey(states, keygenUntil);
          if (key) return key;
          if (Date.now() > end) {
            const seen = states.map((s) => `${s.name}: ${s.running ? `epoch ${s.epoch ?? '-'}${s.locked ? ' locked' : ''} ${s.state ?? 'no answer'}` : 'not running'}`).join('; ');
            throw new Error(`no key locked in on every running node within ${timeoutMs} ms (${seen})`);
          }
          await sleep(1_000);
        }
      },
      async requestTransfer(at, amountSats) {
        if (!Number.isSafeInteger(amountSats) || amountSats <= 0) throw new Error(`amountSats must be a positive whole number, got ${amountSats}`);
        const payoutAddress = randomTaprootAddress();
        const req = await at.api.post<{ id: string; depositAddress: string }>('/v1/requests', {
          amountSats: String(amountSats),
          payoutAddress,
          refundAddress: randomTaprootAddress(),
          expiry: Math.floor(Date.now() / 1000) + 3600,
        });
        const dep = await faucet.faucet(req.depositAddress, BigInt(amountSats));
        return { id: req.id, depositAddress: req.depositAddress, payoutAddress, amountSats, depositTxid: dep.txid };
      },
      stop,
    };
    return fed;
  } catch (e) {
    await stop();
    throw new Error(`process federation in ${dir}: ${errorMessage(e)}`, { cause: e });
  }
}

interface StatusJson {
  state: string;
  epoch: number | null;
  vaultAddress: string | null;
  threshold: number | null;
  committeeSize: number | null;
}
interface EpochsJson {
  epochs: { record: { epoch: number; outputKey: string }; status: string }[];
}

async function keyStateOf(node: ProcNode): Promise<NodeKeyState> {
  const none: NodeKeyState = { name: node.name, running: node.running, state: null, epoch: null, vaultAddress: null, outputKey: null, threshold: null, committeeSize: null, locked: false };
  if (!node.running) return none;
  try {
    const [st, ep] = await Promise.all([node.api.get<StatusJson>('/v1/status'), node.api.get<EpochsJson>('/v1/epochs')]);
    const cur = st.epoch === null ? undefined : ep.epochs.find((e) => e.record.epoch === st.epoch);
    return {
      ...none,
      state: st.state,
      epoch: st.epoch,
      vaultAddress: st.vaultAddress,
      outputKey: cur?.record.outputKey ?? null,
      threshold: st.threshold,
      committeeSize: st.committeeSize,
      locked: cur?.status === 'locked',
    };
  } catch {
    return none;
  }
}

/** The key every running node is locked in on, or null while keygen may still change it. */
export function agreedKey(states: NodeKeyState[], keygenUntil: Date, now = Date.now()): FederationKey | null {
  if (now < keygenUntil.getTime()) return null;
  const up = states.filter((s) => s.running);
  if (up.length === 0) return null;
  const first = up[0]!;
  const same = up.every((s) => s.locked && s.state !== null && s.state !== 'keygen' && s.epoch === first.epoch && s.vaultAddress === first.vaultAddress && s.outputKey === first.outputKey);
  if (!same || first.epoch === null || first.vaultAddress === null || first.outputKey === null || first.threshold === null) return null;
  return { epoch: first.epoch, groupKey: first.outputKey, vaultAddress: first.vaultAddress, threshold: first.threshold };
}

function mostCommon(xs: number[]): number | null {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best: number | null = null;
  for (const [x, c] of counts) if (best === null || c > counts.get(best)!) best = x;
  return best;
}
