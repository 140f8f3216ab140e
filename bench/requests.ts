// `npm run bench -- requests [--records=N] [--burst=N] [--origins=N]`: what a large transfer-request
// store costs a node, in one process, beside an empty-store baseline measured in the same run.
//
// Not the 5-node devnet run (that one needs five node processes and a devchain, which
// this shared 2-core machine does not finish in reasonable time); it measures the node-side
// work that run exercises, on the real RequestStore, DepositWatcher and RequestUpkeep:
// - per block: the watch-set sync, the round's funded-request read, the epoch-retirement count
//   and the archive pass, and the address reads the deposit watcher makes (chain reads per block);
// - a deposit to a request created after the bulk: watched, and in the round's funded set;
// - the archive: most of the bulk expired and unfunded leaves the store and the watch set;
// - a burst of signed records from several origins applied by pull replication (pages of 100,
//   alternating origins' servers), records per second;
// - RSS before and after.
import { sha256 } from '@noble/hashes/sha2.js';
import * as btc from '@scure/btc-signer';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { openDb } from '../src/store/db.js';
import { nodeMigrations } from '../src/node/migrations.js';
import { RequestStore, ZERO_CURSOR, type Cursor } from '../src/custody/requests.js';
import { DepositWatcher } from '../src/custody/deposits.js';
import { RequestUpkeep, fundedRequests } from '../src/node/request-upkeep.js';
import { applyPullReply, servePull } from '../src/p2p/replication.js';
import type { Utxo } from '../src/chain/types.js';
import { parseFlags } from './flags.js';
import { staticChain } from '../test/support/static-chain.js';

const REGTEST = { ...btc.TEST_NETWORK, bech32: 'bcrt' };
const te = new TextEncoder();
const addr = (seed: string) => btc.Address(REGTEST).encode({ type: 'wsh', hash: sha256(te.encode(seed)) });
const depositAddressFor = (id: string, epoch: number) => (epoch === 1 ? addr(`deposit|${id}`) : undefined);
const TIP = { height: 500, hash: 'aa'.repeat(32), time: 1_700_000_000 };

const chain = (utxos: Map<string, Utxo[]>) => staticChain(TIP, utxos);

async function identity() {
  const key = (await generateKeyPair('Ed25519')) as unknown as PrivateKey;
  return { key, peerId: peerIdFromPrivateKey(key as never).toString() };
}

const input = (n: number, expiry: number) => ({ amountSats: 50_000n + BigInt(n % 1000), payoutAddress: addr(`pay${n}`), refundAddress: addr(`refund${n}`), expiry });

async function perBlock(n: number, t0: number) {
  const me = await identity();
  let t = t0;
  const now = () => t;
  const db = openDb(':memory:', nodeMigrations);
  const requests = new RequestStore({ db, network: 'regtest', signer: { peerId: me.peerId, privateKey: me.key }, currentEpoch: () => 1, depositAddressFor, quotas: { maxOpenPerOrigin: 1e9, maxPerHourPerOrigin: 1e9 }, retainExpiredMs: 3_600_000, now });
  // The bulk: created an hour and more before "now", expiring after 10 minutes, never funded.
  const fill0 = performance.now();
  for (let i = 0; i < n; i++) await requests.create(input(i, Math.floor(t / 1000) + 600));
  const fillMs = performance.now() - fill0;
  t += 600_000 + 3_600_000 + 60_000;
  const fresh = await requests.create(input(n + 1, Math.floor(t / 1000) + 86_400));
  const utxos = new Map<string, Utxo[]>([[fresh.depositAddress, [{ txid: 'bb'.repeat(32), vout: 0, value: fresh.amountSats, scriptPubKey: btc.OutScript.encode(btc.Address(REGTEST).decode(fresh.depositAddress)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''), status: { confirmed: true, blockHeight: 490, blockHash: (490).toString(16).padStart(64, '0') } }]]]);
  const c = chain(utxos);
  const deposits = new DepositWatcher({ chain: c, db, minConfirmations: 3, now });
  const upkeep = new RequestUpkeep({ db, requests, deposits, liveVaults: () => [], retainMs: 3_600_000, now });

  const timed = async () => {
    const s0 = performance.now();
    upkeep.syncWatches();
    const syncMs = performance.now() - s0;
    c.reads = 0;
    const p0 = performance.now();
    await deposits.poll();
    const pollMs = performance.now() - p0;
    const reads = c.reads;
    const f0 = performance.now();
    const live = deposits.list({ status: ['seen', 'confirmed'] });
    const funded = fundedRequests(requests, live, t + 60_000, new Set([1]));
    requests.openByEpoch(t);
    const roundReadMs = performance.now() - f0;
    return { syncMs, pollMs, chainReadsPerBlock: reads, roundReadMs, watched: deposits.watched().length, freshInRound: funded.some((r) => r.id === fresh.id) };
  };
  const first = await timed(); // first block after start: the whole store is walked once
  const a0 = performance.now();
  let archived = 0;
  for (;;) {
    const k = upkeep.archiveDone();
    archived += k;
    if (k === 0) break;
  }
  const archiveMs = performance.now() - a0;
  const steady = await timed();
  const storeAfterArchive = requests.count();
  db.close();
  return { records: n, fillMs: Math.round(fillMs), firstBlock: round(first), archived, archiveMs: Math.round(archiveMs), storeAfterArchive, steadyBlock: round(steady) };
}

function round<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 100) / 100 : v])) as T;
}

async function burst(origins: number, each: number) {
  const t = Date.now();
  const servers: RequestStore[] = [];
  for (let o = 0; o < origins; o++) {
    const id = await identity();
    const s = new RequestStore({ db: openDb(':memory:', nodeMigrations), network: 'regtest', signer: { peerId: id.peerId, privateKey: id.key }, currentEpoch: () => 1, depositAddressFor, quotas: { maxOpenPerOrigin: 1e9, maxPerHourPerOrigin: 1e9 } });
    for (let i = 0; i < each; i++) await s.create(input(o * each + i, Math.floor(t / 1000) + 86_400));
    servers.push(s);
  }
  const receiver = new RequestStore({ db: openDb(':memory:', nodeMigrations), network: 'regtest', currentEpoch: () => 1, depositAddressFor, quotas: { maxOpenPerOrigin: 1e9, maxPerHourPerOrigin: 1e9 } });
  const cursors: Cursor[] = servers.map(() => ZERO_CURSOR);
  const firstOfEach: number[] = servers.map(() => -1);
  const t0 = performance.now();
  let pages = 0;
  for (let busy = true; busy; ) {
    busy = false;
    for (let o = 0; o < servers.length; o++) {
      const asked = { after: cursors[o]!, limit: 100 };
      const reply = servePull(servers[o]!, asked, 100);
      if (reply.records.length === 0) continue;
      busy = true;
      pages++;
      const out = await applyPullReply(receiver, `server${o}`, asked, reply);
      cursors[o] = out.cursor;
      if (firstOfEach[o] === -1) firstOfEach[o] = performance.now() - t0;
    }
  }
  const ms = performance.now() - t0;
  return { origins, recordsPerOrigin: each, applied: receiver.count(), pages, ms: Math.round(ms), recordsPerSec: Math.round((receiver.count() / ms) * 1000), firstRecordOfEachOriginMs: firstOfEach.map((x) => Math.round(x)) };
}

export async function main(args: string[]) {
  const f = parseFlags(args, { records: 'int', burst: 'int', origins: 'int', quick: 'bool' });
  const n = (f.records as number | undefined) ?? (f.quick ? 2_000 : 20_000);
  const origins = (f.origins as number | undefined) ?? 5;
  const each = Math.floor(((f.burst as number | undefined) ?? (f.quick ? 500 : 5_000)) / origins);
  const rss0 = process.memoryUsage().rss;
  process.stderr.write(`requests bench: empty-store baseline\n`);
  const empty = await perBlock(0, 1_700_000_000_000);
  process.stderr.write(`requests bench: ${n} stored requests (most expired, never funded)\n`);
  const full = await perBlock(n, 1_700_000_000_000);
  const rss1 = process.memoryUsage().rss;
  process.stderr.write(`requests bench: burst of ${origins * each} records from ${origins} origins\n`);
  const b = await burst(origins, each);
  const rss2 = process.memoryUsage().rss;
  return {
    note: 'in-process, one node\'s store and watcher; not the 5-node devnet run',
    baseline: empty,
    loaded: full,
    ratios: {
      roundReadVsEmpty: full.steadyBlock.roundReadMs / Math.max(0.01, empty.steadyBlock.roundReadMs),
      chainReadsVsEmpty: full.steadyBlock.chainReadsPerBlock / Math.max(1, empty.steadyBlock.chainReadsPerBlock),
    },
    burst: b,
    rssMb: { start: Math.round(rss0 / 2 ** 20), afterStore: Math.round(rss1 / 2 ** 20), afterBurst: Math.round(rss2 / 2 ** 20) },
  };
}
