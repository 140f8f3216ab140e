// A whole federation for end-to-end tests: the devchain on loopback and N real nodes (startNode:
// libp2p over TCP on 127.0.0.1, SQLite, encrypted keystore, scheduler), each with a real stake
// funded on the devchain and aged past 72 h. Nodes run in this process so a test can stop,
// restart and fault-inject them; everything they say crosses real sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import { createChainSource } from '../../src/chain/factory.js';
import type { ChainSource } from '../../src/chain/types.js';
import { parseConfig, type Config } from '../../src/config/index.js';
import { Keystore } from '../../src/keystore/index.js';
import { startNode, type RunningNode } from '../../src/node/index.js';
import { rewritingOutbound, type Rewrite } from '../support/outbound.js';
import { createDevWallet, randomTaprootAddress, type DevWallet } from '../../src/devnet/wallet.js';
import { createLogger } from '../../src/util/log.js';
import { createApiClient, type ApiClient } from '../../src/cli/client.js';
import { readApiToken } from '../../src/api/auth.js';

export const PASSPHRASE = 'e2e-test-passphrase';
const STAKE_SATS = 200_000n;

export interface FederationOptions {
  n: number;
  /** Cron of signing rounds (default every 10 s). */
  signing?: string;
  /** Cron of keygen epochs (default every 6 s). */
  keygen?: string;
  /**
   * Keygen runs while now < keygenUntil: this many ms (default 30 s) after the operators' stakes
   * are funded and aged, just before the nodes start (on a busy machine funding alone can take
   * most of a minute, which must not eat the nodes' keygen window).
   */
  keygenUntilMs?: number;
  /** Cron of regroups (default: 23:59:59, i.e. never within a test). */
  regroup?: string;
  committeeMax?: number;
  minConfirmations?: number;
  /** Extra config (deep-merged per section). */
  config?: Record<string, Record<string, unknown>>;
}

export interface OperatorOptions {
  /** Move the devchain clock 73 h past the stake's confirmation (default true); false leaves it too young. */
  ageStake?: boolean;
  /** Peer id the stake commits to (default: the operator's own; another id makes a 'wrong-peer' stake). */
  stakePeerId?: string;
}

export interface TestNode {
  name: string;
  dir: string;
  peerId: string;
  config: Config;
  /**
   * Mutable: tests set `faults.outgoing` to make this node misbehave on the wire (rewrite or drop
   * its outgoing messages; a changed round message is re-signed with its own share:
   * test/support/outbound.ts).
   */
  faults: { outgoing?: Rewrite };
  running: RunningNode | null;
  api(): ApiClient;
  /**
   * Points this (stopped) node at another data directory (its keystore in `<dir>/keys`): the
   * next start runs from there, same peer id and stake, as an operator who moved the node would.
   */
  moveTo(dir: string): void;
  start(): Promise<RunningNode>;
  stop(): Promise<void>;
}

export interface Federation {
  dir: string;
  devchain: RunningDevchain;
  faucet: DevchainClient;
  chain: ChainSource;
  wallet: DevWallet;
  nodes: TestNode[];
  opts: FederationOptions;
  keygenUntil: Date;
  /** Creates (does not start) one more operator, by default with an aged stake committing to its own peer id. */
  addOperator(name?: string, opts?: OperatorOptions): Promise<TestNode>;
  stop(): Promise<void>;
}

export async function startFederation(opts: FederationOptions): Promise<Federation> {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-e2e-'));
  const devchain = await startDevchain({ port: 0, host: '127.0.0.1', blockIntervalMs: 1_000, network: 'regtest' });
  const faucet = new DevchainClient(devchain.url);
  const chain = createChainSource({ kind: 'devchain', url: devchain.url, network: 'regtest' });
  const wallet = createDevWallet(faucet, chain);
  const keygenWindowMs = opts.keygenUntilMs ?? 30_000;
  let keygenUntil = new Date(Date.now() + keygenWindowMs);
  const nodes: TestNode[] = [];

  const makeNode = async (name: string, stakePeerId?: string): Promise<TestNode> => {
    const ndir = join(dir, name);
    const ks = Keystore.open({ dir: join(ndir, 'keys'), passphrase: PASSPHRASE, scryptN: 1024, create: true });
    const { peerId } = await ks.init();
    const stake = await wallet.stake({ peerId: stakePeerId ?? peerId, rewardAddress: randomTaprootAddress(), amount: STAKE_SATS });
    const extra = opts.config ?? {};
    const raw = {
      network: 'regtest',
      dataDir: ndir,
      keystore: { dir: join(ndir, 'keys'), scryptN: 1024, passphraseEnv: 'METANODE_PASSPHRASE' },
      chain: { source: 'esplora', esploraUrl: devchain.url, pollMs: 300, ...(extra.chain ?? {}) },
      stake: { txid: stake.txid, vout: stake.vout, minSats: 100_000, minAgeHours: 72 },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrapGraceMs: 120_000, pingIntervalMs: 500, peerTimeoutMs: 6_000, maxConnections: 32, ...(extra.p2p ?? {}) },
      committee: { max: opts.committeeMax ?? 7, ...(extra.committee ?? {}) },
      schedule: {
        signing: opts.signing ?? '*/10 * * * * *',
        keygen: opts.keygen ?? '*/6 * * * * *',
        regroup: opts.regroup ?? '59 59 23 * * *',
        keygenUntil: keygenUntil.toISOString(),
      },
      custody: { minConfirmations: opts.minConfirmations ?? 1, bumpAfterBlocks: 3, feeRateMin: 1, feeRateMax: 50, transferFeeSats: 2_000, replicationDelayMs: 500, ...(extra.custody ?? {}) },
      replication: { limit: 10, minSleepMs: 100, maxSleepMs: 300, ...(extra.replication ?? {}) },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      ...(extra.blocklist ? { blocklist: extra.blocklist } : {}),
    };
    const config = parseConfig(raw, {}, { cwd: dir });
    const node: TestNode = {
      name,
      dir: ndir,
      peerId,
      config,
      faults: {},
      running: null,
      api() {
        if (!node.running) throw new Error(`${name} is not running`);
        // Writes need the bearer token the node keeps in its data directory (created at start).
        // 30 s: eight nodes share this process's event loop, and on a busy machine one answer can
        // take longer than 5 s (a read outside a wait then failed the test).
        return createApiClient(node.running.apiUrl, { timeoutMs: 30_000, token: readApiToken(node.config.dataDir) });
      },
      async start() {
        if (node.running) return node.running;
        const others = nodes.filter((o) => o !== node && o.running).flatMap((o) => o.running!.multiaddrs.filter((a) => a.includes('127.0.0.1')));
        const c = node.config;
        const cfg: Config = { ...c, p2p: { ...c.p2p, bootstrap: others }, schedule: { ...c.schedule, keygenUntil } };
        // The running node's context, for re-signing rewritten messages: kept while it stops
        // (a test stopping it from inside a rewrite still drops what it sends meanwhile).
        let started: RunningNode | undefined;
        node.running = started = await startNode(cfg, {
          env: { METANODE_PASSPHRASE: PASSPHRASE },
          log: createLogger({ level: 'info', destination: join(node.dir, 'node.log') }),
          outbound: (own) => rewritingOutbound(own, () => node.faults.outgoing, () => started?.ctx),
        });
        return node.running;
      },
      moveTo(to: string) {
        if (node.running) throw new Error(`${name} is running: stop it before moving its data directory`);
        node.dir = to;
        node.config = { ...node.config, dataDir: to, keystore: { ...node.config.keystore, dir: join(to, 'keys') } };
      },
      async stop() {
        const r = node.running;
        node.running = null;
        if (r) await withTimeout(r.stop(), 15_000, `${name} stop`);
      },
    };
    return node;
  };

  for (let i = 0; i < opts.n; i++) nodes.push(await makeNode(`node-${i + 1}`));
  await faucet.mine(1);
  await faucet.advanceClock(73 * 3600);
  await faucet.mine(1);
  keygenUntil = new Date(Date.now() + keygenWindowMs);
  try {
    for (const node of nodes) await node.start();
  } catch (e) {
    // Leave nothing running behind a failed start (the test's after hook has no federation).
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await devchain.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const fed: Federation = {
    dir,
    devchain,
    faucet,
    chain,
    wallet,
    nodes,
    opts,
    keygenUntil,
    async addOperator(name?: string, o: OperatorOptions = {}) {
      const node = await makeNode(name ?? `node-${nodes.length + 1}`, o.stakePeerId);
      await faucet.mine(1);
      if (o.ageStake !== false) {
        await faucet.advanceClock(73 * 3600);
        await faucet.mine(1);
      }
      nodes.push(node);
      return node;
    },
    async stop() {
      await Promise.allSettled(nodes.map((n) => n.stop()));
      await devchain.close().catch(() => {});
      if (!process.env.METANODE_KEEP_E2E) rmSync(dir, { recursive: true, force: true });
    },
  };
  return fed;
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

import { waitFor } from '../../src/util/wait.js';
export { waitFor };

/** Current epoch, vault address and whether this node holds a share, read from its stores. */
export async function epochOf(node: TestNode): Promise<{ epoch: number; vault: string; hasShare: boolean } | null> {
  if (!node.running) return null;
  const cur = await node.running.ctx.manager.currentKeyAndShare();
  return cur ? { epoch: cur.record.epoch, vault: cur.record.vaultAddress, hasShare: cur.share !== null } : null;
}

/** Submits a transfer request at `node` and pays its deposit from the faucet. */
export async function requestTransfer(fed: Federation, node: TestNode, amountSats: number): Promise<{ id: string; payoutAddress: string; depositAddress: string; depositTxid: string }> {
  const payoutAddress = randomTaprootAddress();
  const req = await node.api().post<{ id: string; depositAddress: string }>('/v1/requests', {
    amountSats: String(amountSats),
    payoutAddress,
    refundAddress: randomTaprootAddress(),
    expiry: Math.floor(Date.now() / 1000) + 3600,
  });
  const dep = await fed.faucet.faucet(req.depositAddress, BigInt(amountSats));
  return { id: req.id, payoutAddress, depositAddress: req.depositAddress, depositTxid: dep.txid };
}

/** Transfer state as `node` records it. */
export async function transferState(node: TestNode, id: string): Promise<{ state: string; txid: string | null } | undefined> {
  const list = await node.api().get<{ request: { id: string }; state: string; txid: string | null }[]>('/v1/transfers', { limit: 1000 });
  const t = list.find((x) => x.request.id === id);
  return t ? { state: t.state, txid: t.txid } : undefined;
}
