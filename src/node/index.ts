// Wires one metanode: keystore, SQLite, chain source, libp2p network, request store, deposit
// watcher, epoch manager, signing and ceremony runners, scheduler and the loopback HTTP API.
import '../util/polyfill.js';
import { join } from 'node:path';
import { buildCommit, packageVersion } from '../util/version.js';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { Config } from '../config/schema.js';
import { openKeystoreFromConfig, type ResolvedPassphrase } from '../keystore/index.js';
import { openDb } from '../store/db.js';
import { createChainSource, type ChainConfig } from '../chain/factory.js';
import { chainStakeChecker } from '../p2p/stake-checker.js';
import { P2pNetwork } from '../p2p/network.js';
import { defaultRegistry } from '../p2p/registry.js';
import { EpochManager } from '../epochs/manager.js';
import { RequestStore } from '../custody/requests.js';
import { DepositWatcher } from '../custody/deposits.js';
import { reconcileNodeRewards } from './rewards.js';
import { getTransfer } from '../custody/transfers.js';
import { CustodyChainFollower } from '../custody/custody-chain.js';
import { commitmentRoundId } from '../custody/candidate.js';
import { addressToScript } from '../chain/network.js';
import { Transaction } from '@scure/btc-signer';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { depositAddress } from '../crypto/taproot.js';
import { createTssProof, verifyTssProof } from '../crypto/proof.js';
import { identifierOf } from '../crypto/identifiers.js';
import { EpochScheduler, scheduleFromConfig } from '../rounds/scheduler.js';
import { createApiServer } from '../api/index.js';
import { ensureApiToken } from '../api/auth.js';
import { createMetrics } from '../metrics.js';
import { createLogger, type Logger } from '../util/log.js';
import { MetanodeError, errorMessage, isMetanodeError } from '../util/errors.js';
import { EXIT_DOPPELGANGER, EXIT_SHARE_INCONSISTENCY } from '../cli/exit-codes.js';
import { lockDataDir } from './lock.js';
import { nodeMigrations } from './migrations.js';
import { keystoreShareVault } from './share-vault.js';
import { cronPeriodMs } from '../rounds/round-clock.js';
import { roundOf, type NodeContext } from './context.js';
import { networkOutbound, type OutboundPort } from './outbound.js';
import { SigningRunner } from './signing-runner.js';
import { CeremonyRunner } from './ceremony-runner.js';
import { registerNodeMessageTypes } from './message-types.js';
import { createNodeApi } from './api.js';
import { EpochSync } from './epoch-sync.js';
import { committeePeers } from './peers.js';
import { registerNodeMetrics } from './metrics.js';
import { depositViews, peerViews, transferStateCounts } from './views.js';
import { RequestUpkeep } from './request-upkeep.js';

/** A running node asks its peers for its own newest ping every this many ping intervals (one small direct request per connected peer). */
const MIRROR_CHECK_PINGS = 20;

export interface StartNodeOptions {
  log?: Logger;
  env?: Record<string, string | undefined>;
  /** The keystore passphrase when the caller already has it (the CLI's prompt). */
  passphrase?: ResolvedPassphrase;
  now?: () => number;
  /**
   * A port put in front of the node's own outbound port (src/node/outbound.ts): every round and
   * ceremony message, in its final form, goes through it.
   */
  outbound?: (own: OutboundPort) => OutboundPort;
}

export interface RunningNode {
  peerId: string;
  apiUrl: string;
  multiaddrs: string[];
  ctx: NodeContext;
  stop(): Promise<void>;
  /** Resolves with an exit code when the node stops by itself (65: share inconsistency, 76: doppelganger). */
  done: Promise<number | void>;
}

function chainConfig(config: Config): ChainConfig {
  const c = config.chain;
  if (c.source === 'bitcoind') {
    const b = c.bitcoind;
    return { kind: 'bitcoind', network: config.network, url: b.url!, user: b.user, password: b.password, cookieFile: b.cookieFile, wallet: b.wallet };
  }
  return { kind: 'esplora', url: c.esploraUrl!, network: config.network };
}

export async function startNode(config: Config, opts: StartNodeOptions = {}): Promise<RunningNode> {
  const log = opts.log ?? createLogger({ level: config.log.level, format: config.log.format });
  const now = opts.now ?? Date.now;
  const startedAt = now();
  // One process per data directory: a second start fails here, naming the holder's PID.
  const lock = lockDataDir(config.dataDir);
  let opening: ReturnType<typeof openDb> | undefined;
  let opened;
  try {
    const keystore = openKeystoreFromConfig(config, opts.env ?? process.env, false, opts.passphrase);
    if (!keystore.hasIdentity()) throw new MetanodeError('KEYSTORE', `no identity key in ${keystore.dir}: run \`metanode init\` first`);
    const privateKey = await keystore.loadIdentity();
    const peerId = peerIdFromPrivateKey(privateKey as never).toString();
    const db = (opening = openDb(join(config.dataDir, 'node.sqlite'), nodeMigrations));
    // The trust rules read the stake view of the network created below (only once sync or a
    // ceremony runs, never during start-up repair).
    const manager = new EpochManager(db, keystoreShareVault(keystore), peerId, {
      now,
      policy: {
        rules: () => ({ network: config.network, committeeMax: config.committee.max, threshold: config.committee.threshold, keygenUntil: config.schedule.keygenUntil?.getTime() ?? null }),
        staked: () => committeePeers({ network, peerId, now, chainView }),
      },
      onShare: (e) =>
        e.action === 'destroyed'
          ? log.info({ epoch: e.epoch, reason: e.reason }, 'share destroyed')
          : log.warn({ epoch: e.epoch, location: e.location, reason: e.reason }, 'share file quarantined (kept, not in use)'),
    });
    await manager.reconcile();
    opened = { keystore, privateKey, peerId, db, manager };
  } catch (e) {
    opening?.close();
    lock.release();
    throw e;
  }
  const { privateKey, peerId, manager } = opened;
  const db = opened.db;
  const chain = createChainSource(chainConfig(config));
  try {
    await chain.ready?.(); // Bitcoin Core: version, network, pruning, the wallet (refused with one line per missing piece)
  } catch (e) {
    db.close();
    lock.release();
    throw e;
  }
  const roundMs = cronPeriodMs(config.schedule.signing);
  const metrics = createMetrics();

  registerNodeMessageTypes();

  const keyOf = (epoch: number) => manager.store.get(epoch)?.key;
  const requests = new RequestStore({
    db,
    network: config.network,
    signer: { peerId, privateKey },
    currentEpoch: () => manager.current()?.record.epoch ?? 0,
    depositAddressFor: (id, epoch) => {
      const k = keyOf(epoch);
      return k ? depositAddress(k, id) : undefined;
    },
    // Origins are staked peers: this node while its own stake verifies, the admitted (staked)
    // peer table, and the committees of the epochs still in use. Anyone else is unknown here.
    originStanding: (origin) => {
      if (origin === peerId) {
        const own = network.ownStakeVerdict();
        return own === undefined ? 'unknown' : own.valid ? 'staked' : 'unstaked';
      }
      if (network.table.has(origin)) return 'staked';
      const inCommittee = manager.store.all().some((e) => e.status !== 'retired' && e.record.committee.some((m) => m.peerId === origin));
      return inCommittee ? 'staked' : 'unknown';
    },
    quotas: { maxOpenPerOrigin: config.requests.maxOpenPerOrigin, maxPerHourPerOrigin: config.requests.maxPerHourPerOrigin },
    retainExpiredMs: config.requests.retainHours * 3_600_000,
    now,
    // Watched at once (local POST or replicated), not on the next poll's store walk, which
    // would still pick it up if this failed.
    onStored: (r) => {
      try {
        upkeep.watchRecord(r);
      } catch (e) {
        log.warn({ request: r.id, err: errorMessage(e) }, 'watching a new request failed; the next chain poll watches it');
      }
    },
  });

  const activity: NodeContext['activity'] = { state: 'bootstrapping' };
  const chainView: NodeContext['chainView'] = { tip: null, reachable: false, feeRate: null };
  const currentEpoch = () => manager.current()?.record.epoch ?? 0;
  const network: P2pNetwork = new P2pNetwork({
    network: config.network,
    privateKey,
    db,
    stakeChecker: chainStakeChecker(chain, { minSats: config.stake.minSats, minAgeSeconds: config.stake.minAgeHours * 3600, network: config.network }),
    ...(config.stake.txid !== undefined ? { ownStake: `${config.stake.txid}:${config.stake.vout}` } : {}),
    listen: config.p2p.listen,
    announce: config.p2p.announce,
    bootstrap: config.p2p.bootstrap,
    metricsRegistry: metrics.registry,
    log,
    registry: defaultRegistry,
    proofChecker: (pid, proof, c) => {
      const k = keyOf(c.epoch);
      const id = k ? identifierOf(k.committee, pid) : undefined;
      const share = k && id !== undefined ? k.verifyingShares[id] : undefined;
      return share ? verifyTssProof(share, { ...c, network: config.network }, proof) : undefined;
    },
    proofRequired: (pid, epoch) => {
      const k = keyOf(epoch);
      return k !== undefined && k.committee.some((m) => m.peerId === pid);
    },
    makeProof: (c) => {
      const s = shareCache;
      return s && s.epoch === c.epoch ? createTssProof(s, { ...c, network: config.network }) : undefined;
    },
    status: () => ({ state: activity.state, tip: chainView.tip?.height ?? 0 }),
    // The ping's epoch and its tss_proof's share come from one snapshot (refreshShare): a ping
    // announcing an epoch whose share is not loaded yet would carry no proof and be blocked.
    clock: () => ({ epoch: pingEpoch, round: roundOf({ roundMs }, now()) }),
    now,
    pingIntervalMs: config.p2p.pingIntervalMs,
    silent: config.p2p.doppelgangerIntervals > 0,
    peerTimeoutMs: config.p2p.peerTimeoutMs,
    blocklistHours: config.blocklist.hours,
    maxSkewMs: config.clock.maxSkewMs,
    graceMs: config.p2p.bootstrapGraceMs,
    committeeSize: (): number => manager.current()?.record.committee.length ?? network.table.size + 1,
    maxConnections: config.p2p.maxConnections,
    gossipRate: { perSecond: config.p2p.gossipRatePerSec, burst: config.p2p.gossipBurst },
    replication: { store: requests, limit: config.replication.limit, minDelayMs: config.replication.minSleepMs, maxDelayMs: config.replication.maxSleepMs },
  });
  // The share used for our own pings' tss_proof; refreshed when the epoch changes.
  let shareCache: import('../crypto/types.js').KeyShare | null = null;
  let pingEpoch = 0;
  const refreshShare = async () => {
    const cur = await manager.currentKeyAndShare();
    shareCache = cur?.share ?? null;
    pingEpoch = cur?.record.epoch ?? 0;
  };
  await refreshShare();
  const shareHeld = () => shareCache !== null && shareCache.epoch === currentEpoch();

  // An expired request's address is read at its slot heights only, two rounds after expiry: a
  // round counts every request unexpired at its start as open (src/custody/late-deposits.ts).
  const deposits = new DepositWatcher({
    chain, db, minConfirmations: config.custody.minConfirmations, mempoolRescanMs: config.chain.mempoolRescanMs, now,
    lateAfterMs: 2 * roundMs, lateEveryBlocks: config.custody.lateDepositEveryBlocks,
  });
  const nodeMetrics = registerNodeMetrics(
    metrics,
    {
      db,
      peers: () => peerViews({ table: network.table.list(), blocked: network.blocklist.list(), connected: network.connectedPeers() }),
      depositStates: () => depositViews(deposits.list(), { limit: Number.MAX_SAFE_INTEGER }).map((d) => ({ state: d.state, sats: d.valueSats })),
      transferStates: () => [...transferStateCounts(db, now())].flatMap(([state, n]) => Array<string>(n).fill(state)),
      blocklistSize: () => network.blocklist.list().length,
      build: { version: packageVersion(), commit: buildCommit() },
      chainTip: () => chainView.tip,
      chainAnsweredAt: () => chainView.answeredAt,
      epoch: currentEpoch,
      committee: () => {
        const r = manager.current()?.record;
        return r ? { size: r.committee.length, threshold: r.threshold, member: r.committee.some((m) => m.peerId === peerId) } : null;
      },
      stakedPeers: () => ({ admitted: network.table.size, connected: network.connectionStatus()?.connectedStaked ?? 0 }),
      shareHeld,
      stake: () => ({ valid: network.ownStakeVerdict()?.valid === true, checkedAt: network.ownStakeCheckedAt() }),
      clockSkewMs: () => {
        const s = network.clockSkewStatus();
        return s.peers > 0 ? s.ownOffsetMs : null;
      },
      now,
    },
    (what, e) => log.warn({ metric: what, err: errorMessage(e) }, 'metrics source failed'),
  );
  const outbound = opts.outbound ? opts.outbound(networkOutbound(network)) : networkOutbound(network);
  // The reward ledger follows the custody txs in the same SQLite transaction as each change.
  const custodyTxs = new CustodyChainFollower({
    db, chain, finalityDepth: config.custody.finalityDepth, log: log.child({ module: 'custody-chain' }), now, within: () => reconcileNodeRewards(ctx),
  });
  const ctx: NodeContext = { config, peerId, privateKey, db, chain, chainView, network, manager, requests, deposits, custodyTxs, log, roundMs, now, activity, outbound, metrics: nodeMetrics };
  const signing = new SigningRunner(ctx);
  const ceremonies = new CeremonyRunner(ctx);
  const sync = new EpochSync(ctx, async () => {
    await refreshShare();
  });

  for (const type of defaultRegistry.typesOnTopic('signing')) network.subscribe(type, (env) => signing.onEnvelope(env));
  for (const type of [...defaultRegistry.typesOnTopic('keygen'), ...defaultRegistry.typesOnTopic('regroup')]) {
    network.subscribe(type, (env) => ceremonies.onEnvelope(env));
  }

  // Chain loop: tip, fee estimate, watched addresses, deposit confirmations, custody tx states.
  let polling = false;
  const pollChain = async () => {
    if (polling) return;
    polling = true;
    try {
      const tip = await chain.getTip();
      const fee = await chain.getFeeRate(2).catch(() => null);
      if (fee !== null) chainView.feeRate = Math.max(1, Math.round(fee));
      upkeep.syncWatches();
      await deposits.poll();
      // The tip becomes ours (pinged to peers, used for the anchor) only once the deposit scan
      // has seen every watched address at that height: a node announcing a block whose deposits
      // it has not read yet would build a different candidate for the same anchor.
      chainView.tip = tip;
      chainView.reachable = true;
      chainView.answeredAt = now();
      delete chainView.error;
      await custodyTxs.poll(tip);
      await learnPayments(tip.height);
      reconcileNodeRewards(ctx); // txs whose rewards could not be derived at confirmation
      await retireEmptyEpochs();
      const archived = upkeep.archiveDone();
      if (archived > 0) log.info({ archived }, 'transfer requests past their retention archived and unwatched');
    } catch (e) {
      chainView.reachable = false;
      chainView.error = errorMessage(e);
      log.warn({ err: chainView.error }, 'chain source unavailable');
    } finally {
      polling = false;
    }
  };
  // A deposit spent by a confirmed transaction that pays its request's payout is a payment
  // even if this node never saw the round end (it was out of the round, or missed sign.final).
  const notPayments = new Set<string>(); // confirmed spenders already checked (e.g. refunds)
  const learnPayments = async (tipHeight: number) => {
    for (const d of deposits.list({ kind: 'deposit', status: 'spent' })) {
      if (!d.requestId || !d.spentBy || notPayments.has(d.spentBy)) continue;
      const t = getTransfer(db, d.requestId);
      if (t?.state === 'paid' || t?.state === 'confirmed') continue;
      const tx = await chain.getTx(d.spentBy);
      if (!tx?.status.confirmed || tx.status.blockHeight === undefined || tx.status.blockHash === undefined) continue;
      // The requests this transaction pays: those whose deposits it spends and whose payout it carries.
      const paid: string[] = [];
      const spentRequests = new Set(deposits.list({ kind: 'deposit', status: 'spent' }).filter((x) => x.spentBy === d.spentBy && x.requestId).map((x) => x.requestId!));
      for (const id of spentRequests) {
        const record = requests.get(id);
        if (!record) continue;
        const script = addressToScript(record.payoutAddress, config.network);
        const payout = record.amountSats - config.custody.transferFeeSats;
        if (tx.vout.some((o) => o.scriptPubKey === script && o.value === payout)) paid.push(record.id);
      }
      if (!paid.includes(d.requestId)) {
        notPayments.add(d.spentBy);
        continue;
      }
      const inputs = Transaction.fromRaw(hexToBytes(tx.hex), { allowUnknownOutputs: true, allowUnknownInputs: true });
      const outpoints = Array.from({ length: inputs.inputsLength }, (_, i) => {
        const inp = inputs.getInput(i);
        return { txid: bytesToHex(inp.txid!), vout: inp.index! };
      });
      const roundId = tx.vout.map((o) => commitmentRoundId(o.scriptPubKey)).find((r) => r !== null) ?? -1;
      custodyTxs.learn({ txid: tx.txid, roundId, hex: tx.hex, inputs: outpoints, transferIds: paid, block: { height: tx.status.blockHeight, hash: tx.status.blockHash }, tipHeight });
    }
  };
  // An earlier epoch's shares are kept until nothing is left at its addresses and none of its
  // transfer requests can still receive a deposit; then they are destroyed.
  const retireEmptyEpochs = async () => {
    const cur = manager.current();
    if (!cur) return;
    const balances = new Map<number, bigint>();
    for (const e of manager.store.all()) {
      if (e.record.epoch >= cur.record.epoch || e.status === 'retired' || e.record.outputKey === cur.record.outputKey) continue;
      balances.set(e.record.epoch, 0n);
    }
    if (balances.size === 0) return;
    for (const d of deposits.list({ status: ['seen', 'confirmed'] })) {
      if (d.epoch !== undefined && balances.has(d.epoch)) balances.set(d.epoch, balances.get(d.epoch)! + d.value);
    }
    // Every open request counts (SQL count per epoch, no cap).
    for (const [epoch, n] of requests.openByEpoch(now())) {
      if (balances.has(epoch)) balances.set(epoch, balances.get(epoch)! + BigInt(n));
    }
    const empty = manager.retirableEpochs(balances);
    if (empty.length) {
      await manager.retire(empty);
      log.info({ epochs: empty }, 'earlier epochs emptied: shares destroyed');
    }
  };
  const upkeep = new RequestUpkeep({
    db,
    requests,
    deposits,
    liveVaults: () => manager.store.all().filter((e) => e.status !== 'retired').map((e) => ({ epoch: e.record.epoch, key: e.key })),
    retainMs: config.requests.retainHours * 3_600_000,
    now,
  });

  const scheduler = new EpochScheduler(
    scheduleFromConfig({ ...config.schedule, keygenUntil: config.schedule.keygenUntil?.toISOString() }),
    {
      signing: (at) => signing.run(at),
      keygen: async (at) => {
        const r = await ceremonies.keygen(at);
        if (r?.ok) await refreshShare();
      },
      regroup: async (at) => {
        const r = await ceremonies.regroup(at);
        if (r?.ok) await refreshShare();
      },
    },
    {
      log,
      onLockIn: () => {
        if (manager.lockIn()) log.info({ epoch: manager.current()?.record.epoch }, 'keygen period over: vault key locked in');
      },
    },
  );

  let starting = true;
  /** True during the doppelganger window after start. */
  let listening = config.p2p.doppelgangerIntervals > 0;
  const api = createApiServer({
    api: createNodeApi({ ctx, signing, startedAt, version: packageVersion(), isStarting: () => starting, isListening: () => listening, shareHeld }),
    metrics,
    host: config.http.host,
    port: config.http.port,
    maxSkewMs: config.clock.maxSkewMs,
    bodyLimitBytes: config.http.bodyLimitBytes,
    logger: log,
    auth: { token: ensureApiToken(config.dataDir).token, postRatePerSec: config.http.postRatePerSec, postBurst: config.http.postBurst },
  });

  const timers: NodeJS.Timeout[] = [];
  let resolveDone!: (code: number | void) => void;
  const done = new Promise<number | void>((r) => (resolveDone = r));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearInterval(t);
    signing.abort();
    ceremonies.abort();
    // A broadcast still in flight may hold the scheduler a moment; never longer than this.
    await Promise.race([scheduler.stop().catch(() => {}), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await api.close().catch(() => {});
    await network.stop().catch(() => {});
    db.close();
    lock.release();
    log.info('node stopped');
  };

  try {
    await network.start();
    // The API answers (503 "node is starting") while the store's backlog is archived and the
    // first chain poll reads the watched addresses.
    const { url } = await api.listen();
    const archived = await upkeep.archiveBacklog();
    if (archived > 0) log.info({ archived }, 'transfer requests past their retention archived before the first chain poll');
    await pollChain();
    timers.push(setInterval(() => void pollChain(), config.chain.pollMs));
    timers.push(
      setInterval(() => {
        // A share inconsistency found later (e.g. a share file removed under us) must stop the
        // node with the no-restart exit code rather than let it sign with a guess.
        void manager.checkCurrentShare().catch((e) => {
          if (isMetanodeError(e, 'SHARE_INCONSISTENCY')) {
            log.fatal({ err: errorMessage(e) }, 'share inconsistency: stopping');
            void stop().then(() => resolveDone(EXIT_SHARE_INCONSISTENCY));
          }
        });
        void sync.tick();
        if (currentEpoch() !== pingEpoch) void refreshShare().catch((e) => log.warn({ err: errorMessage(e) }, 'loading the current share failed'));
        if (activity.state === 'bootstrapping' && network.ownStakeVerdict()?.valid) activity.state = 'idle';
      }, Math.max(1000, config.p2p.pingIntervalMs)),
    );
    for (const t of timers) t.unref?.();
    // Doppelganger protection: hearing a ping signed with our key that we did not send means a
    // second instance runs with our identity; both would sign. Stop, with the no-restart code.
    network.on('doppelganger', (d) => {
      log.fatal({ ...d, exitCode: EXIT_DOPPELGANGER }, 'another instance runs with this peer id: stopping; stop the other one before starting this one again');
      void stop().then(() => resolveDone(EXIT_DOPPELGANGER));
    });
    // Silent until the window has passed: no pings, no rounds, no ceremonies. gossipsub never
    // relays a ping to its author's peer id, so in a full mesh the other instance's pings do not
    // reach this one: at the end of the window the peers hand back the newest ping of ours they
    // hold (src/p2p/ping-mirror.ts), and a running node asks again now and then (two instances
    // started together both pass their windows).
    const windowMs = config.p2p.doppelgangerIntervals * config.p2p.pingIntervalMs;
    const joinFederation = async () => {
      if (stopped) return;
      if (windowMs > 0) {
        const m = await network.askPingMirrors().catch(() => null);
        if (stopped || m?.doppelganger) return;
      }
      listening = false;
      network.startPinging();
      scheduler.startCron();
      if (windowMs > 0) timers.push(setInterval(() => void network.askPingMirrors().catch(() => {}), MIRROR_CHECK_PINGS * config.p2p.pingIntervalMs));
    };
    if (windowMs > 0) {
      log.info({ windowMs }, 'listening for another instance with this peer id before taking part');
      const t = setTimeout(() => void joinFederation(), windowMs);
      t.unref?.();
      timers.push(t);
    } else void joinFederation();
    starting = false;
    log.info({ peerId, api: url, addrs: network.multiaddrs(), roundMs }, 'metanode started');
    return {
      peerId,
      apiUrl: url,
      multiaddrs: network.multiaddrs(),
      ctx,
      stop: async () => {
        await stop();
        resolveDone();
      },
      done,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
