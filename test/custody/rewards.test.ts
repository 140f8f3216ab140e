// Rewards paid from transfer fees, end to end below the node: custody txs signed by real FROST
// rounds (the in-memory round harness), an in-process devchain, each node's bookkeeping in its own
// SQLite with the reward ledger following the chain in the follower's transactions. Expected
// balances are tallied here from the chain (fees read from the devchain's own transactions), not
// from the ledger under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { createChainSource } from '../../src/chain/factory.js';
import type { ChainSource } from '../../src/chain/types.js';
import { addressFromScript, depositTweak, scriptPubKeyFor } from '../../src/crypto/taproot.js';
import { buildCandidate, parseCommitment, type CandidateView, type RewardPeer } from '../../src/custody/candidate.js';
import { CustodyChainFollower } from '../../src/custody/custody-chain.js';
import { balancesAt } from '../../src/custody/reward-balance.js';
import { reconcileRewards, rewardBalances, rewardLedger, rewardMigrations, type RewardSource } from '../../src/custody/rewards.js';
import { excludedTransfers, getCustodyTx, listCustodyTxs, lockedOutpoints, markDropped, recordBroadcast, transferMigrations } from '../../src/custody/transfers.js';
import { addressToScript } from '../../src/chain/network.js';
import { roundLogMigrations } from '../../src/rounds/roundlog.js';
import { signedSessionMigrations } from '../../src/rounds/signing/sessions.js';
import { openDb, type Db } from '../../src/store/db.js';
import { BOUNDARY, Harness, PARAMS, atEpoch, dkgKeys, standardView, type KeySet } from '../rounds/signing/harness.js';
import { leaverAddresses, type LineageRecord } from '../../src/custody/leavers.js';
import { payableLedger } from '../../src/node/signing-runner.js';

const FINALITY = 3;
const FEE = PARAMS.transferFee;
const MIGRATIONS = [...roundLogMigrations, ...transferMigrations, ...signedSessionMigrations, ...rewardMigrations];
const quiet = { info() {}, warn() {}, error() {} };

type Req = { id: string; amount: bigint };

/** n nodes on their own devchain; each follows it with a CustodyChainFollower that keeps the reward ledger. */
class RewardFed {
  /** The signing key set; a regroup (regroup()) keeps the key under a new epoch number. */
  ks: KeySet;
  /** Adopted epoch records as the ledger reads them (committee, lineage, reward addresses). */
  readonly records = new Map<number, LineageRecord>();
  readonly dc: RunningDevchain;
  readonly chain: ChainSource;
  readonly dbs = new Map<string, Db>();
  readonly followers = new Map<string, CustodyChainFollower>();
  readonly src: RewardSource;
  readonly rewardScripts: Map<string, string>;
  private nextRound: number;
  /** Every custody tx the federation signed, in order. */
  readonly txids: string[] = [];

  private constructor(n: number, dc: RunningDevchain, readonly minPayout: bigint, firstRound: number, private readonly dbPath: (p: string) => string) {
    this.ks = dkgKeys(n);
    this.dc = dc;
    this.chain = createChainSource({ kind: 'esplora', url: dc.url, network: 'regtest' });
    this.nextRound = firstRound;
    const { key } = this.ks;
    this.rewardScripts = new Map(this.ks.peers.map((p, i) => [p, scriptPubKeyFor(key, depositTweak(key, `reward/${i}`))]));
    this.records.set(key.epoch, { epoch: key.epoch, previousEpoch: null, committee: this.entries(this.ks.peers) });
    this.src = {
      transferFee: FEE,
      committee: (epoch) => this.records.get(epoch)?.committee.map((m) => m.peerId) ?? null,
      rewardScript: (p) => this.rewardScripts.get(p) ?? null,
      inputValue: (o) => this.dc.chain.tx(o.txid)?.p.outputs[o.vout]?.value ?? null,
      leavers: (epoch) => {
        const a = this.leavers(epoch);
        return a && new Map(a.map((l) => [l.peerId, addressToScript(l.rewardAddress, 'regtest')]));
      },
    };
    for (const p of this.ks.peers) this.open(p);
  }

  /** Record committee entries: each peer with the address of its reward script. */
  entries(peers: string[]): LineageRecord['committee'] {
    return peers.map((p) => ({ peerId: p, rewardAddress: addressFromScript(this.rewardScripts.get(p)!, 'regtest') }));
  }

  leavers(epoch: number): RewardPeer[] | null {
    const a = leaverAddresses(epoch, (e) => this.records.get(e) ?? null);
    return a && [...a].map(([peerId, rewardAddress]) => ({ peerId, rewardAddress }));
  }

  /** A member of the current epoch's committee that holds no share here: it never takes part in a round. */
  addAbsentMember(peerId: string, rewardScript: string): void {
    this.rewardScripts.set(peerId, rewardScript);
    const r = this.records.get(this.ks.key.epoch)!;
    this.records.set(r.epoch, { ...r, committee: [...r.committee, ...this.entries([peerId])] });
  }

  /** A regroup that keeps the key: the next epoch's committee is `peers`. */
  regroup(peers: string[]): void {
    const prev = this.ks.key.epoch;
    this.ks = atEpoch(this.ks, prev + 1);
    this.records.set(prev + 1, { epoch: prev + 1, previousEpoch: prev, committee: this.entries(peers) });
  }

  static async start(n: number, minPayout: bigint, firstRound: number, dir: string): Promise<RewardFed> {
    return new RewardFed(n, await startDevchain({ network: 'regtest' }), minPayout, firstRound, (p) => join(dir, `${n}-${firstRound}-${p}.sqlite`));
  }

  close(): void {
    for (const db of this.dbs.values()) db.close();
    this.dc.close();
  }

  /** Opens (or reopens, after restart()) a node's database and its chain follower. */
  private open(p: string): void {
    const db = openDb(this.dbPath(p), MIGRATIONS);
    this.dbs.set(p, db);
    this.followers.set(p, new CustodyChainFollower({ db, chain: this.chain, finalityDepth: FINALITY, log: quiet, now: () => Date.now(), within: () => reconcileRewards(db, this.src) }));
  }

  /** A node stops (its database closed) and starts again from the same file. */
  restart(p: string): void {
    this.dbs.get(p)!.close();
    this.open(p);
  }

  db(p = 'peerA'): Db {
    return this.dbs.get(p)!;
  }

  payoutScript(id: string): string {
    return scriptPubKeyFor(this.ks.key, depositTweak(this.ks.key, `${id}/payout`));
  }

  fund(id: string | null, sats: bigint): void {
    const { key } = this.ks;
    this.dc.chain.faucet(addressFromScript(id === null ? scriptPubKeyFor(key) : scriptPubKeyFor(key, depositTweak(key, id)), 'regtest'), sats);
  }

  view(roundId: number, requests: Req[], db: Db | null): CandidateView {
    const { key } = this.ks;
    const roundStart = roundId * BOUNDARY;
    const confirmed = (script: string) => this.dc.chain.unspent(script).filter((c) => c.height !== undefined);
    return {
      key, roundId, roundStartMs: roundStart, anchorHeight: this.dc.chain.height(), feeRate: 1,
      requests: requests.map((r) => ({
        id: r.id, amount: r.amount, destination: addressFromScript(this.payoutScript(r.id), 'regtest'),
        refundAddress: addressFromScript(this.payoutScript(r.id), 'regtest'), createdAt: roundStart - 60_000, expiresAt: roundStart + 3_600_000,
      })),
      deposits: requests.flatMap((r) =>
        confirmed(scriptPubKeyFor(key, depositTweak(key, r.id))).map((c) => ({ txid: c.txid, vout: c.vout, value: c.value, height: c.height!, requestId: r.id, scriptPubKey: c.script })),
      ),
      vaultUtxos: confirmed(scriptPubKeyFor(key)).map((c) => ({ txid: c.txid, vout: c.vout, value: c.value, height: c.height!, scriptPubKey: c.script })),
      peers: this.ks.peers.map((p) => ({ peerId: p, rewardAddress: addressFromScript(this.rewardScripts.get(p)!, 'regtest') })),
      leavers: this.leavers(key.epoch) ?? [],
      ...(db ? { excludedTransfers: excludedTransfers(db), lockedOutpoints: lockedOutpoints(db), rewards: rewardLedger(db, this.src, this.minPayout) } : {}),
    };
  }

  /** One custody round among all nodes (real FROST); the signed tx goes to the mempool. `own: false`: bookkeeping that never saw it. */
  async round(requests: Req[], own = true): Promise<string> {
    const roundId = this.nextRound++;
    const fresh = new Map(this.ks.peers.map((p) => [p, openDb(':memory:', MIGRATIONS)]));
    const dbOf = (p: string) => (own ? this.dbs.get(p)! : fresh.get(p)!);
    const h = new Harness({ keys: this.ks, roundId, dbFor: dbOf, viewFor: (p) => this.view(roundId, requests, dbOf(p)) }).start().run();
    await h.settled();
    const s = h.state('peerA');
    assert.equal(s.outcome, 'completed', s.endReason ?? s.abort?.reason ?? '');
    this.dc.chain.submit(h.broadcasts.get('peerA')!.at(-1)!);
    if (own) this.txids.push(s.result!.txid);
    return s.result!.txid;
  }

  /** Funds `k` fresh requests (and optionally the vault), confirms them, pays them in one round, mines it and lets every node look. */
  async payRound(tag: string, k: number, vaultSats = 0n): Promise<string> {
    const reqs = Array.from({ length: k }, (_, i) => ({ id: `${tag}-${i}`, amount: 20_000n }));
    for (const r of reqs) this.fund(r.id, r.amount);
    if (vaultSats > 0n) this.fund(null, vaultSats);
    this.dc.chain.mine(1);
    const txid = await this.round(reqs);
    this.dc.chain.mine(1);
    await this.poll();
    return txid;
  }

  async poll(): Promise<void> {
    const tip = await this.chain.getTip();
    for (const f of this.followers.values()) await f.poll(tip);
  }

  /** What a tx on the devchain says, independently of the ledger: miner fee, and reward outputs by peer. */
  onChain(txid: string): { fee: bigint; rewards: Map<string, bigint>; payouts: bigint; change: bigint; epoch: number | null } {
    const t = this.dc.chain.tx(txid)!.p;
    const inSum = t.inputs.reduce((s, i) => s + this.dc.chain.tx(i.txid)!.p.outputs[i.vout]!.value, 0n);
    const outSum = t.outputs.reduce((s, o) => s + o.value, 0n);
    const byScript = new Map([...this.rewardScripts].map(([p, s]) => [s, p]));
    const rewards = new Map<string, bigint>();
    let change = 0n;
    let payouts = 0n;
    let epoch: number | null = null;
    for (const o of t.outputs) {
      const script = bytesToHex(o.script);
      const peer = byScript.get(script);
      if (peer) rewards.set(peer, (rewards.get(peer) ?? 0n) + o.value);
      else if (script === scriptPubKeyFor(this.ks.key)) change += o.value;
      else if (o.kind === 'nulldata') epoch = parseCommitment(script)?.epoch ?? null;
      else payouts += o.value;
    }
    return { fee: inSum - outSum, rewards, payouts, change, epoch };
  }
}

function onBestChain(fed: RewardFed, txid: string): boolean {
  return fed.dc.chain.tx(txid) !== undefined && fed.dc.chain.txStatus(txid).confirmed;
}

/** The ledger rows of one node, as plain values (for comparing two derivations). */
function rows(db: Db): unknown[] {
  return [
    ...db.prepare('SELECT * FROM reward_txs ORDER BY txid').all(),
    ...db.prepare('SELECT * FROM reward_ledger ORDER BY txid, peer_id').all(),
  ];
}

/**
 * Rounds of `k` transfers each; after every round the ledger must match a tally kept from the
 * chain: each tx accrues floor((k x transferFee - miner fee) / n) to every member, and a member
 * is paid its whole balance in the first round after the balance reaches the minimum, not before.
 * Returns the tally and how many rounds paid rewards.
 */
async function accrueAndPay(fed: RewardFed, tag: string, rounds: number, k: number, onRound?: (i: number) => void): Promise<{ paidRounds: number[] }> {
  const n = fed.ks.peers.length;
  const tally = new Map(fed.ks.peers.map((p) => [p, 0n]));
  const paidRounds: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const due = [...tally.values()][0]! >= fed.minPayout; // every member has the same tally
    const txid = await fed.payRound(`${tag}-${i}`, k, i === 0 ? 400_000n : 0n);
    const c = fed.onChain(txid);
    assert.equal(c.epoch, fed.ks.key.epoch, 'the commitment names the signing epoch');
    if (due) {
      paidRounds.push(i);
      assert.deepEqual(c.rewards, tally, `round ${i}: every member is paid its whole balance, once it reached the minimum`);
      for (const p of fed.ks.peers) tally.set(p, 0n);
    } else {
      assert.equal(c.rewards.size, 0, `round ${i}: no reward output below the minimum`);
    }
    const pool = BigInt(k) * FEE - c.fee;
    assert.ok(pool > 0n, 'the transfer fees cover the miner fee');
    for (const p of fed.ks.peers) tally.set(p, tally.get(p)! + pool / BigInt(n));
    for (const [p, db] of fed.dbs) {
      const b = rewardBalances(db, fed.src);
      assert.equal(b.complete, true);
      assert.deepEqual(new Map(b.peers.map((x) => [x.peerId, x.balance])), tally, `round ${i}: ${p}'s ledger agrees with the chain`);
      const r = db.prepare('SELECT pool, remainder FROM reward_txs WHERE txid = ?').get(txid) as { pool: string; remainder: string };
      assert.deepEqual([BigInt(r.pool), BigInt(r.remainder)], [pool, pool % BigInt(n)], 'the remainder of the division stays in the vault');
    }
    onRound?.(i);
  }
  return { paidRounds };
}

/**
 * Vault balance sheet from the chain alone: what was deposited (to deposit addresses and the
 * vault) = payouts + rewards + miner fees + what the vault still holds.
 */
function balanceSheet(fed: RewardFed, deposited: bigint): void {
  let payouts = 0n;
  let rewards = 0n;
  let fees = 0n;
  for (const txid of fed.txids) {
    if (!onBestChain(fed, txid)) continue;
    const c = fed.onChain(txid);
    payouts += c.payouts;
    fees += c.fee;
    rewards += [...c.rewards.values()].reduce((s, v) => s + v, 0n);
  }
  const { key } = fed.ks;
  const held = fed.dc.chain.unspent(scriptPubKeyFor(key)).reduce((s, u) => s + u.value, 0n);
  assert.equal(deposited, payouts + rewards + fees + held, 'deposits in = payouts + rewards + miner fees + vault balance');
  const b = rewardBalances(fed.db(), fed.src);
  assert.ok(rewards <= b.totals.pool, 'rewards paid never exceed the pools accrued');
  assert.ok(b.totals.pool <= BigInt(b.totals.transfers) * FEE - b.totals.fees, 'pools never exceed transfer fees minus miner fees');
}

/** One real round where `byzantine` builds from its own view: every other node completes with `honestTxid`; the outputs signed. */
async function signedByHonest(ks: KeySet, viewOf: (p: string) => CandidateView, byzantine: string, honestTxid: string): Promise<Array<{ script: string; amount: bigint }>> {
  const h = new Harness({ keys: ks, viewFor: (p) => viewOf(p) }).start().run();
  await h.settled();
  for (const p of ks.peers.filter((x) => x !== byzantine)) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason ?? s.abort?.reason ?? ''}`);
    assert.equal(s.result!.txid, honestTxid, `${p} signed the honest document`);
  }
  const signed = Transaction.fromRaw(hexToBytes(h.broadcasts.get(ks.peers.find((p) => p !== byzantine)!)!.at(-1)!), { allowUnknownOutputs: true });
  return Array.from({ length: signed.outputsLength }, (_, i) => ({ script: bytesToHex(signed.getOutput(i).script!), amount: signed.getOutput(i).amount! }));
}

test('rewards with 5 committee members accrue from transfer fees, are paid whole once the minimum is reached, survive a restart, and balance the vault', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-rewards-'));
  const fed = await RewardFed.start(5, 3_000n, 7_000, dir);
  try {
    const before = new Map<string, unknown>();
    const { paidRounds } = await accrueAndPay(fed, 'five', 6, 6, (i) => {
      if (i !== 1) return;
      // peerA restarts: the ledger in its file is what it was; dropped and derived again, it is the same.
      before.set('rows', rows(fed.db()));
      fed.restart('peerA');
      assert.deepEqual(rows(fed.db()), before.get('rows'));
      fed.db().exec('DELETE FROM reward_ledger; DELETE FROM reward_txs');
      assert.deepEqual(reconcileRewards(fed.db(), fed.src), []);
      assert.deepEqual(rows(fed.db()), before.get('rows'), 'the ledger is a function of the chain');
    });
    assert.ok(paidRounds.length >= 1, `some round paid rewards (paid in rounds ${paidRounds.join(',')})`);
    assert.ok(!paidRounds.includes(0), 'nothing is paid before anything accrued');
    // Deposits: 6 rounds x 6 requests x 20 000, plus the vault's 400 000.
    balanceSheet(fed, 6n * 6n * 20_000n + 400_000n);
  } finally {
    fed.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rewards with 8 committee members: equal accrual, payout exactly when the minimum is reached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-rewards-'));
  const fed = await RewardFed.start(8, 2_000n, 8_000, dir);
  try {
    const { paidRounds } = await accrueAndPay(fed, 'eight', 4, 8);
    assert.ok(paidRounds.length >= 1, 'some round paid rewards');
    balanceSheet(fed, 4n * 8n * 20_000n + 400_000n);
  } finally {
    fed.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reorg that removes a rewarding custody tx removes its accruals and payouts; meanwhile and afterwards no reward is paid twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-rewards-'));
  const fed = await RewardFed.start(5, 2_000n, 9_000, dir);
  const db = fed.db();
  const balances = () => new Map(rewardBalances(db, fed.src).peers.map((p) => [p.peerId, p]));
  try {
    await fed.payRound('reorg-0', 6, 400_000n);
    await fed.payRound('reorg-1', 6);
    const accruedBefore = balances().get('peerA')!.accrued;
    assert.ok(accruedBefore >= 2_000n, 'two rounds reach the minimum');
    // T3 pays everyone's balance.
    const other = { id: 'reorg-other', amount: 30_000n };
    fed.fund(other.id, other.amount);
    const t3 = await fed.payRound('reorg-2', 6);
    const paid3 = fed.onChain(t3).rewards;
    assert.equal(paid3.get('peerA'), accruedBefore);
    assert.ok(balances().get('peerA')!.balance < 2_000n);

    // T3's block is disconnected and T3 forgotten: in flight again, its accrual gone, its payouts still spoken for.
    fed.dc.chain.reorg(1, { dropTxs: true });
    await fed.poll();
    assert.equal(getCustodyTx(db, t3)!.state, 'unconfirmed');
    assert.equal((db.prepare('SELECT count(*) AS n FROM reward_ledger WHERE txid = ?').get(t3) as { n: number }).n, 0, 'rows of a reverted tx are deleted');
    const during = balances().get('peerA')!;
    assert.equal(during.inFlight, accruedBefore, 'the in-flight payout still counts');
    assert.equal(during.accrued, accruedBefore, 'T3 accrues nothing while out of a block');
    assert.equal(during.balance, 0n);
    const v = fed.view(99_999, [], db);
    assert.deepEqual(balancesAt(v.rewards!.rows, v.anchorHeight).filter((p) => p.balance >= 2_000n), [], 'no balance is due while T3 may still confirm');

    // T3 is forgotten again before it is mined, and on the new chain its vault input is spent by
    // another custody tx Z (signed from bookkeeping that never saw T3).
    fed.dc.chain.reorg(1, { drop: [t3] });
    const z = await fed.round([other], false);
    const [zBlock] = fed.dc.chain.mine(1);
    await fed.poll();
    // Each node learns Z from the chain, as its payment learning does (src/node/index.ts learnPayments).
    const zTx = fed.dc.chain.tx(z)!.p;
    for (const f of fed.followers.values()) {
      f.learn({ txid: z, roundId: -1, hex: zTx.hex, inputs: zTx.inputs.map((i) => ({ txid: i.txid, vout: i.vout })), transferIds: [other.id], block: { height: fed.dc.chain.height(), hash: zBlock! }, tipHeight: fed.dc.chain.height() });
    }
    assert.equal(getCustodyTx(db, t3)!.state, 'dropped');
    assert.equal(getCustodyTx(db, z)!.state, 'confirmed');
    const after = balances().get('peerA')!;
    const zPool = FEE - fed.onChain(z).fee;
    assert.equal(after.inFlight, 0n, 'a dropped tx pays nobody');
    assert.equal(after.paid, 0n);
    assert.equal(after.accrued, accruedBefore + zPool / 5n, 'Z accrues to the same committee');

    // The next round pays exactly that balance, once (T3's transfers too, pending again).
    const t4 = await fed.round(Array.from({ length: 6 }, (_, i) => ({ id: `reorg-2-${i}`, amount: 20_000n })));
    fed.dc.chain.mine(1);
    await fed.poll();
    assert.equal(fed.onChain(t4).rewards.get('peerA'), after.accrued);
    const paidOnChain = fed.txids.filter((t) => onBestChain(fed, t)).reduce((s, t) => s + (fed.onChain(t).rewards.get('peerA') ?? 0n), 0n);
    assert.equal(paidOnChain, after.accrued, 'peerA was paid what it accrued on the best chain, never twice');
    assert.ok(balances().get('peerA')!.balance >= 0n);
    assert.equal(listCustodyTxs(db, 'unconfirmed').length, 0);
  } finally {
    fed.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a node inflating its own reward balance is refused: the round signs the honest document and pays the derived balance', async () => {
  const ks = dkgKeys(5);
  const honest = { minPayout: 1_000n, complete: true, rows: ks.peers.map((p) => ({ peerId: p, height: 150, accrued: 1_500n, paid: 0n })) };
  const inflated = { ...honest, rows: honest.rows.map((r) => (r.peerId === 'peerB' ? { ...r, accrued: 90_000n } : r)) };
  const viewOf = (p: string) => ({ ...standardView(ks), rewards: p === 'peerB' ? inflated : honest });
  const honestDoc = buildCandidate(viewOf('peerA'), PARAMS)!;
  const bDoc = buildCandidate(viewOf('peerB'), PARAMS)!;
  assert.notEqual(bDoc.docHash, honestDoc.docHash, 'the inflated candidate is another document');
  assert.equal(bDoc.outputs.find((o) => o.kind === 'reward' && o.peerId === 'peerB')!.amount, 90_000n);

  const amounts = (await signedByHonest(ks, viewOf, 'peerB', honestDoc.txid)).map((o) => o.amount);
  assert.equal(amounts.filter((a) => a === 1_500n).length, 5, 'each member, peerB included, gets the balance the ledger derives');
  assert.ok(!amounts.includes(90_000n), 'the inflated reward was never signed');
});

test('a reward in a replaced version stays spoken for while its replacement may still confirm, and is due again once the family is dropped', () => {
  const ks = dkgKeys(5);
  const db = openDb(':memory:', MIGRATIONS);
  const scripts = new Map(standardView(ks).peers.map((p) => [p.peerId, addressToScript(p.rewardAddress, 'regtest')]));
  const src: RewardSource = { transferFee: FEE, committee: (e) => (e === ks.key.epoch ? ks.peers : null), rewardScript: (p) => scripts.get(p) ?? null, inputValue: () => null };
  const accrued = { minPayout: 1_000n, complete: true, rows: ks.peers.map((p) => ({ peerId: p, height: 150, accrued: 1_500n, paid: 0n })) };
  const original = buildCandidate({ ...standardView(ks), rewards: accrued }, PARAMS)!;
  assert.equal(original.outputs.filter((o) => o.kind === 'reward').length, 5);
  const record = (c: typeof original, replaces?: string) =>
    recordBroadcast(db, { txid: c.txid, roundId: 1, hex: c.unsignedTx, inputs: c.inputs.map((i) => ({ txid: i.txid, vout: i.vout })), transferIds: c.transferIds, feeRate: c.feeRate, height: 200, now: 1, ...(replaces ? { replaces } : {}) });
  record(original);
  const inFlight = () => balancesAt(rewardLedger(db, src, 1_000n).rows).map((p) => p.inFlight);
  assert.deepEqual(inFlight(), Array(5).fill(1_500n), 'input values unknown: payouts in flight are still read');
  // A replacement that (say) could not read the rewards back leaves them out.
  const bumped = buildCandidate({ ...standardView(ks), replace: { txid: original.txid, inputs: original.inputs, feeRate: original.feeRate, transferIds: original.transferIds, rewards: [] } }, PARAMS)!;
  assert.equal(bumped.outputs.filter((o) => o.kind === 'reward').length, 0);
  record(bumped, original.txid);
  assert.equal(getCustodyTx(db, original.txid)!.state, 'replaced');
  assert.deepEqual(inFlight(), Array(5).fill(1_500n), 'the replaced version may still confirm: its rewards are not due again');
  markDropped(db, bumped.txid, 2, { reason: 'inputs spent elsewhere' });
  assert.deepEqual(inFlight(), [], 'the whole family is dropped: nothing in flight (no ledger row at all)');
});

test('a participant whose reward address differs between the participant table and the stakes the ledger reads is not paid this round', () => {
  const ks = dkgKeys(5);
  const view = standardView(ks);
  const scripts = new Map(view.peers.map((p) => [p.peerId, addressToScript(p.rewardAddress, 'regtest')]));
  const src: RewardSource = { transferFee: FEE, committee: () => ks.peers, rewardScript: (p) => scripts.get(p) ?? null, inputValue: () => null };
  const ledger = { minPayout: 1_000n, complete: true, rows: ks.peers.map((p) => ({ peerId: p, height: 150, accrued: 1_500n, paid: 0n })) };
  const tableAddress = new Map(view.peers.map((p) => [p.peerId, p.peerId === 'peerC' ? view.requests[0]!.destination : p.rewardAddress]));
  const payable = payableLedger(ledger, tableAddress, src, 'regtest');
  assert.deepEqual(payable.rows.map((r) => r.peerId), ['peerA', 'peerB', 'peerD', 'peerE']);
  const c = buildCandidate({ ...view, rewards: payable }, PARAMS)!;
  assert.deepEqual(c.outputs.filter((o) => o.kind === 'reward').map((o) => o.peerId).sort(), ['peerA', 'peerB', 'peerD', 'peerE']);
});

test('a leaver (member of an earlier committee, never a participant) with a balance >= the minimum is paid exactly its balance once, at its record address, also across a reorg', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-rewards-'));
  const fed = await RewardFed.start(5, 2_000n, 11_000, dir);
  const db = fed.db();
  const { key } = fed.ks;
  const leaverScript = scriptPubKeyFor(key, depositTweak(key, 'reward/leaver'));
  const ledgerOf = (p: string) => rewardBalances(db, fed.src).peers.find((x) => x.peerId === p);
  try {
    // Epoch 1: peerX is in the committee (it accrues) but holds no share here, so it is never a
    // participant: a member is paid only while it takes part in a round.
    fed.addAbsentMember('peerX', leaverScript);
    let tally = 0n;
    for (let i = 0; i < 4; i++) {
      const due = tally >= fed.minPayout;
      const txid = await fed.payRound(`leaver-${i}`, 6, i === 0 ? 400_000n : 0n);
      const c = fed.onChain(txid);
      assert.equal(c.rewards.get('peerX'), undefined, `round ${i}: a member that is not a participant is not paid${due ? ' (although due)' : ''}`);
      tally += (6n * FEE - c.fee) / 6n;
      assert.equal(ledgerOf('peerX')!.balance, tally, `round ${i}: the ledger agrees with the chain`);
    }
    assert.ok(tally >= fed.minPayout, 'peerX reached the minimum as a member');

    // Epoch 2 (a regroup, same key): peerX left the committee. Its newest record is epoch 1's.
    fed.regroup(fed.ks.peers);
    assert.deepEqual(fed.leavers(2), [{ peerId: 'peerX', rewardAddress: addressFromScript(leaverScript, 'regtest') }]);
    const t = await fed.payRound('leaver-paid', 6);
    const c = fed.onChain(t);
    assert.equal(c.epoch, 2);
    assert.equal(c.rewards.get('peerX'), tally, 'the leaver is paid its whole balance at its record address');
    assert.deepEqual([ledgerOf('peerX')!.paid, ledgerOf('peerX')!.balance], [tally, 0n], 'the ledger reads the payout back by its script');

    // The block with the payout is disconnected: the payout is in flight, still spoken for.
    fed.dc.chain.reorg(1);
    await fed.poll();
    assert.equal(getCustodyTx(db, t)!.state, 'unconfirmed');
    assert.deepEqual([ledgerOf('peerX')!.paid, ledgerOf('peerX')!.inFlight, ledgerOf('peerX')!.balance], [0n, tally, 0n]);
    const v = fed.view(99_998, [], db);
    assert.deepEqual(balancesAt(v.rewards!.rows, v.anchorHeight).filter((p) => p.peerId === 'peerX' && p.balance >= fed.minPayout), [], 'not due while the payout may confirm');
    fed.dc.chain.mine(1);
    await fed.poll();
    assert.equal(getCustodyTx(db, t)!.state, 'confirmed');
    assert.deepEqual([ledgerOf('peerX')!.paid, ledgerOf('peerX')!.inFlight, ledgerOf('peerX')!.balance], [tally, 0n, 0n]);

    // Later rounds pay it nothing more (it accrues nothing in epoch 2).
    const later = await fed.payRound('leaver-after', 6);
    assert.equal(fed.onChain(later).rewards.get('peerX'), undefined);
    const paidOnChain = fed.txids.filter((x) => onBestChain(fed, x)).reduce((s, x) => s + (fed.onChain(x).rewards.get('peerX') ?? 0n), 0n);
    assert.equal(paidOnChain, tally, 'paid exactly its balance, once');
    for (const [p, d] of fed.dbs) assert.deepEqual(rows(d), rows(db), `${p} derived the same ledger`);
    balanceSheet(fed, 6n * 6n * 20_000n + 400_000n);
  } finally {
    fed.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a node substituting its own address for a leaver\'s reward is refused: the round signs the honest document, which pays the leaver at its record address', async () => {
  const ks = dkgKeys(5);
  const base = standardView(ks);
  const leaverAddress = addressFromScript(scriptPubKeyFor(ks.key, depositTweak(ks.key, 'reward/leaver')), 'regtest');
  const bAddress = base.peers.find((p) => p.peerId === 'peerB')!.rewardAddress;
  const ledger = { minPayout: 1_000n, complete: true, rows: [{ peerId: 'peerX', height: 150, accrued: 2_500n, paid: 0n }] };
  const viewOf = (p: string): CandidateView => ({ ...base, rewards: ledger, leavers: [{ peerId: 'peerX', rewardAddress: p === 'peerB' ? bAddress : leaverAddress }] });
  const honestDoc = buildCandidate(viewOf('peerA'), PARAMS)!;
  const bDoc = buildCandidate(viewOf('peerB'), PARAMS)!;
  assert.notEqual(bDoc.docHash, honestDoc.docHash);
  assert.equal(bDoc.outputs.find((o) => o.kind === 'reward')!.script, addressToScript(bAddress, 'regtest'), 'peerB\'s candidate pays the leaver\'s balance to peerB');

  const outs = await signedByHonest(ks, viewOf, 'peerB', honestDoc.txid);
  assert.deepEqual(outs.filter((o) => o.amount === 2_500n).map((o) => o.script), [addressToScript(leaverAddress, 'regtest')], 'the leaver is paid at its record address');
  assert.ok(!outs.some((o) => o.script === addressToScript(bAddress, 'regtest')), 'nothing was signed to peerB\'s address');
});
