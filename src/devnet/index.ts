// `npm start` / `metanode devnet`: a whole federation on loopback. Starts the devchain, creates
// N operators (identity keys, stakes funded on the devchain and aged 72 h by moving its clock),
// starts every node as its own process, waits for keygen and lock-in, then keeps feeding
// transfer requests with deposits and prints what the federation does with them.
import { mkdirSync, rmSync, writeFileSync, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { startDevchain, type RunningDevchain } from '../chain/devchain/index.js';
import { DevchainClient } from '../chain/devchain/client.js';
import { createChainSource } from '../chain/factory.js';
import { Keystore } from '../keystore/index.js';
import { createApiClient, type ApiClient } from '../cli/client.js';
import { createDevWallet, randomTaprootAddress } from './wallet.js';
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

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const STAKE_SATS = 200_000n;

interface DevNode {
  index: number;
  name: string;
  dir: string;
  peerId: string;
  p2pPort: number;
  httpPort: number;
  configFile: string;
  api: ApiClient;
  proc?: ChildProcess;
}

export async function runDevnet(opts: DevnetOptions = {}): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const n = opts.nodes ?? 5;
  if (!Number.isInteger(n) || n < 3 || n > 15) throw new Error(`--nodes must be between 3 and 15, got ${n}`);
  const dir = resolve(opts.dir ?? join(ROOT, '.devnet'));
  const base = opts.basePort ?? 47100;
  if (opts.fresh !== false && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const baseConfig = YAML.parse(readFileSync(opts.config ?? join(ROOT, 'config', 'devnet.yaml'), 'utf8')) as Record<string, any>;

  const passphrase = randomBytes(18).toString('base64url');
  const children: ChildProcess[] = [];
  let devchain: RunningDevchain | undefined;
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    out('devnet: stopping nodes and devchain');
    await Promise.all(children.map((c) => stopChild(c)));
    await devchain?.close().catch(() => {});
  };
  const onSignal = () => void stopAll().then(() => process.exit(0));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    devchain = await startDevchain({ port: base, host: '127.0.0.1', dataDir: join(dir, 'devchain'), blockIntervalMs: opts.blockIntervalMs ?? 5_000, network: 'regtest' });
    out(`devchain: Esplora API at ${devchain.url} (blocks every ${(opts.blockIntervalMs ?? 5_000) / 1000}s)`);
    const faucet = new DevchainClient(devchain.url);
    const chain = createChainSource({ kind: 'devchain', url: devchain.url, network: 'regtest' });
    const wallet = createDevWallet(faucet, chain);

    // Operators: identity keys first (their peer ids go into stakes and bootstrap lists).
    const nodes: DevNode[] = [];
    for (let i = 0; i < n; i++) {
      const ndir = join(dir, `node-${i + 1}`);
      const ks = Keystore.open({ dir: join(ndir, 'keys'), passphrase, scryptN: baseConfig.keystore?.scryptN ?? 1024, create: true });
      const { peerId } = await ks.init();
      const httpPort = base + 100 + i + 1;
      nodes.push({ index: i, name: `node-${i + 1}`, dir: ndir, peerId, p2pPort: base + i + 1, httpPort, configFile: join(ndir, 'metanode.yaml'), api: createApiClient(`http://127.0.0.1:${httpPort}`, { timeoutMs: 5_000 }) });
    }

    // Stakes: one funded output per operator, committed to its peer id and a reward address,
    // confirmed, then aged past the 72-hour minimum by moving the devchain clock forward.
    const stakes: { txid: string; vout: number }[] = [];
    for (const node of nodes) stakes.push(await wallet.stake({ peerId: node.peerId, rewardAddress: randomTaprootAddress(), amount: STAKE_SATS }));
    await faucet.mine(1);
    await faucet.advanceClock(73 * 3600);
    await faucet.mine(1);
    out(`stakes: ${n} operators staked ${STAKE_SATS} sats each; devchain clock moved 73 h so the stakes are old enough`);

    // Keygen runs on its schedule until keygenUntil, then the key is locked in.
    const keygenUntil = new Date(Date.now() + 75_000);
    for (const node of nodes) {
      const cfg = structuredClone(baseConfig);
      cfg.dataDir = node.dir;
      cfg.keystore = { ...(cfg.keystore ?? {}), dir: join(node.dir, 'keys'), passphraseEnv: 'METANODE_PASSPHRASE' };
      cfg.chain = { ...(cfg.chain ?? {}), source: 'esplora', esploraUrl: devchain.url };
      cfg.stake = { ...(cfg.stake ?? {}), txid: stakes[node.index]!.txid, vout: stakes[node.index]!.vout };
      cfg.p2p = {
        ...(cfg.p2p ?? {}),
        listen: [`/ip4/127.0.0.1/tcp/${node.p2pPort}`],
        bootstrap: nodes.filter((o) => o !== node).map((o) => `/ip4/127.0.0.1/tcp/${o.p2pPort}/p2p/${o.peerId}`),
      };
      cfg.http = { ...(cfg.http ?? {}), host: '127.0.0.1', port: node.httpPort };
      cfg.schedule = { ...(cfg.schedule ?? {}), keygenUntil: keygenUntil.toISOString() };
      mkdirSync(node.dir, { recursive: true, mode: 0o700 });
      writeFileSync(node.configFile, YAML.stringify(cfg), { mode: 0o600 });
    }

    for (const node of nodes) {
      const log = createWriteStream(join(node.dir, 'node.log'), { flags: 'a', mode: 0o600 });
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'start', '--config', node.configFile], {
        cwd: ROOT,
        env: { ...process.env, METANODE_PASSPHRASE: passphrase },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      child.on('exit', (code, signal) => {
        if (!stopping) out(`${node.name}: exited (${signal ?? code}); log at ${join(node.dir, 'node.log')}`);
      });
      node.proc = child;
      children.push(child);
    }
    out(`nodes: ${nodes.map((x) => `${x.name} api=http://127.0.0.1:${x.httpPort}`).join(', ')}`);
    out(`logs: ${dir}/node-*/node.log   inspect: node bin/metanode.js --api http://127.0.0.1:${nodes[0]!.httpPort} rounds`);

    const view = new LiveView(nodes.map((x) => ({ name: x.name, api: x.api, peerId: x.peerId })), out);
    const deadline = opts.durationSec ? Date.now() + opts.durationSec * 1000 : Infinity;
    await view.waitForKey(keygenUntil, deadline);
    if (Date.now() >= deadline) return 0;

    let nextBatch = Date.now();
    const every = (opts.batchEverySec ?? 60) * 1000;
    while (!stopping && Date.now() < deadline) {
      if (Date.now() >= nextBatch) {
        await submitBatch(nodes, faucet, opts.transfers ?? 3, out).catch((e) => out(`transfers: batch failed: ${errorMessage(e)}`));
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
async function submitBatch(nodes: DevNode[], faucet: DevchainClient, count: number, out: (l: string) => void): Promise<void> {
  for (let i = 0; i < count; i++) {
    const node = nodes[i % nodes.length]!;
    const amount = 50_000 + Math.floor(Math.random() * 50_000);
    const req = await node.api.post<{ id: string; depositAddress: string; amountSats: string }>('/v1/requests', {
      amountSats: String(amount),
      payoutAddress: randomTaprootAddress(),
      refundAddress: randomTaprootAddress(),
      expiry: Math.floor(Date.now() / 1000) + 3600,
    });
    const dep = await faucet.faucet(req.depositAddress, BigInt(amount));
    out(`transfer ${req.id.slice(0, 8)}: ${amount} sats requested at ${node.name}; deposit ${dep.txid.slice(0, 12)}:${dep.vout} to ${req.depositAddress.slice(0, 20)}…`);
  }
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  await new Promise<void>((res) => {
    const t = setTimeout(() => {
      c.kill('SIGKILL');
    }, 8_000);
    c.once('exit', () => {
      clearTimeout(t);
      res();
    });
    c.kill('SIGTERM');
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
