// Payments through chain reorganisations, deterministically: five nodes' bookkeeping (each its own
// SQLite), custody transactions signed by real FROST rounds (the in-memory round harness), an
// in-process devchain reached through the real Esplora adapter, blocks mined and reorgs made by
// the test. Each node follows the chain with its own CustodyChainFollower, as a running node
// does on every chain poll. At the end the chain itself is audited: each payout address holds
// exactly one output on the best chain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { createChainSource } from '../../src/chain/factory.js';
import type { ChainSource } from '../../src/chain/types.js';
import { addressFromScript, depositTweak, scriptPubKeyFor } from '../../src/crypto/taproot.js';
import type { CandidateView } from '../../src/custody/candidate.js';
import { CustodyChainFollower, type CustodyTxEvent } from '../../src/custody/custody-chain.js';
import { excludedTransfers, getCustodyTx, getTransfer, lockedOutpoints, transferHistory, transferMigrations } from '../../src/custody/transfers.js';
import { readTimeline, roundLogMigrations } from '../../src/rounds/roundlog.js';
import { signedSessionMigrations } from '../../src/rounds/signing/sessions.js';
import { openDb, type Db } from '../../src/store/db.js';
import { auditChain } from '../chaos/chain-audit.js';
import { BOUNDARY, Harness, dkgKeys, type KeySet } from '../rounds/signing/harness.js';
import { countingChain } from './counting-chain.js';

const FINALITY = 3;
const TRANSFER_FEE = 1_000n; // the harness's PARAMS.transferFee

let dc: RunningDevchain;
let chain: ChainSource;
before(async () => {
  dc = await startDevchain({ network: 'regtest' });
  chain = createChainSource({ kind: 'esplora', url: dc.url, network: 'regtest' });
});
after(() => dc.close());

interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** Five nodes: their databases, followers, what they logged and heard. */
class Federation {
  readonly ks: KeySet = dkgKeys(5);
  readonly dbs = new Map<string, Db>();
  readonly followers = new Map<string, CustodyChainFollower>();
  readonly logs: LogLine[] = [];
  readonly heard: CustodyTxEvent[] = [];
  private nextRound: number;

  constructor(firstRound: number, private readonly src: ChainSource = chain) {
    this.nextRound = firstRound;
    for (const p of this.ks.peers) {
      const db = openDb(':memory:', [...roundLogMigrations, ...transferMigrations, ...signedSessionMigrations]);
      this.dbs.set(p, db);
      const log = (level: LogLine['level']) => (obj: object, msg: string) => this.logs.push({ level, obj: obj as Record<string, unknown>, msg });
      const f = new CustodyChainFollower({ db, chain: src, finalityDepth: FINALITY, log: { info: log('info'), warn: log('warn'), error: log('error') }, now: () => Date.now() });
      if (p === 'peerA') f.on((e) => this.heard.push(e));
      this.followers.set(p, f);
    }
  }

  depositScript(id: string): string {
    return scriptPubKeyFor(this.ks.key, depositTweak(this.ks.key, id));
  }

  /** Pays `sats` to a request's deposit address (or the vault), in the mempool. */
  fund(id: string | null, sats: bigint): { txid: string; vout: number } {
    const script = id === null ? scriptPubKeyFor(this.ks.key) : this.depositScript(id);
    return dc.chain.faucet(addressFromScript(script, 'regtest'), sats);
  }

  /** A view of the chain as the node `peer` builds it: confirmed outputs at the tip, its own bookkeeping. */
  view(roundId: number, requests: Array<{ id: string; amount: bigint }>, db: Db | null): CandidateView {
    const { key } = this.ks;
    const roundStart = roundId * BOUNDARY;
    const confirmed = (script: string) => dc.chain.unspent(script).filter((c) => c.height !== undefined);
    return {
      key, roundId, roundStartMs: roundStart, anchorHeight: dc.chain.height(), feeRate: 3,
      requests: requests.map((r) => ({
        id: r.id, amount: r.amount, destination: payout(r.id), refundAddress: addressFromScript(scriptPubKeyFor(key, depositTweak(key, `${r.id}/refund`)), 'regtest'),
        createdAt: roundStart - 60_000, expiresAt: roundStart + 3_600_000,
      })),
      deposits: requests.flatMap((r) => confirmed(this.depositScript(r.id)).map((c) => ({ txid: c.txid, vout: c.vout, value: c.value, height: c.height!, requestId: r.id, scriptPubKey: c.script }))),
      vaultUtxos: confirmed(scriptPubKeyFor(key)).map((c) => ({ txid: c.txid, vout: c.vout, value: c.value, height: c.height!, scriptPubKey: c.script })),
      peers: this.ks.peers.map((p, i) => ({ peerId: p, rewardAddress: addressFromScript(scriptPubKeyFor(key, depositTweak(key, `reward/${i}`)), 'regtest') })),
      ...(db ? { excludedTransfers: excludedTransfers(db), lockedOutpoints: lockedOutpoints(db) } : {}),
    };
  }

  /**
   * One custody round among the five (real FROST); the signed tx goes to the devchain's mempool.
   * `own: false` signs with throwaway databases: the same federation's keys, bookkeeping that
   * never heard of this round (the spend "elsewhere" that wins on a new chain).
   */
  async round(requests: Array<{ id: string; amount: bigint }>, own = true): Promise<{ txid: string; hex: string }> {
    const roundId = this.nextRound++;
    const fresh = new Map(this.ks.peers.map((p) => [p, openDb(':memory:', [...roundLogMigrations, ...transferMigrations, ...signedSessionMigrations])]));
    const dbOf = (p: string) => (own ? this.dbs.get(p)! : fresh.get(p)!);
    const h = new Harness({ roundId, dbFor: dbOf, viewFor: (p) => this.view(roundId, requests, dbOf(p)) }).start().run();
    await h.settled();
    const s = h.state('peerA');
    assert.equal(s.outcome, 'completed', s.endReason ?? s.abort?.reason ?? '');
    const hex = h.broadcasts.get('peerA')!.at(-1)!;
    dc.chain.submit(hex);
    return { txid: s.result!.txid, hex };
  }

  /** Deposits for `requests` and a vault coin, confirmed; then one round paying the requests. */
  async fundAndPay(requests: Array<{ id: string; amount: bigint }>, vaultSats: bigint): Promise<{ txid: string; hex: string }> {
    for (const r of requests) this.fund(r.id, r.amount);
    this.fund(null, vaultSats);
    dc.chain.mine(1);
    return this.round(requests);
  }

  /** Every node looks at the chain once (as each chain poll does); returns peerA's events. */
  async poll(): Promise<CustodyTxEvent[]> {
    const tip = await this.src.getTip();
    let mine: CustodyTxEvent[] = [];
    for (const [p, f] of this.followers) {
      const ev = await f.poll(tip);
      if (p === 'peerA') mine = ev;
    }
    return mine;
  }

  states(id: string): string[] {
    return [...this.dbs.values()].map((db) => getTransfer(db, id)?.state ?? 'untracked');
  }
}

/** A payout address per request (a key nobody in the test spends from). */
function payout(id: string): string {
  const ks = dkgKeys(5);
  return addressFromScript(scriptPubKeyFor(ks.key, depositTweak(ks.key, `${id}/payout`)), 'regtest');
}

/** Outputs paying `id`'s payout address on the best chain, per the independent chain audit. */
async function payoutsOnChain(id: string): Promise<Array<{ txid: string; value: bigint }>> {
  const a = await auditChain(dc.url);
  assert.deepEqual(a.invalid, []);
  assert.deepEqual(a.doubleSpends, []);
  const script = scriptPubKeyFor(dkgKeys(5).key, depositTweak(dkgKeys(5).key, `${id}/payout`));
  return (a.outputsByScript.get(script) ?? []).map((o) => ({ txid: o.txid, value: o.value }));
}

test('a custody tx confirmed, then disconnected and dropped with its inputs unspent: rebroadcast, confirmed again, paid once', async () => {
  const fed = new Federation(5_000);
  const id = 'reorg-rebroadcast';
  const a = await fed.fundAndPay([{ id, amount: 60_000n }], 500_000n);
  assert.deepEqual(fed.states(id), Array(5).fill('in-flight'));

  const [first] = dc.chain.mine(1);
  assert.deepEqual((await fed.poll()).map((e) => [e.kind, e.blockHash]), [['confirmed', first]]);
  assert.deepEqual(fed.states(id), Array(5).fill('confirmed'));
  assert.equal(getCustodyTx(fed.dbs.get('peerA')!, a.txid)!.confirmations, 1);

  // The block holding the custody tx is disconnected and the tx is forgotten (a competing chain).
  const r = dc.chain.reorg(1, { dropTxs: true });
  assert.ok(r.dropped.includes(a.txid) && r.disconnected.includes(first!));
  assert.equal(dc.chain.txStatus(a.txid).confirmed, false);
  const events = await fed.poll();
  assert.deepEqual(events.map((e) => e.kind), ['reverted', 'rebroadcast'], 'peerA polls first: it offers the signed hex again');
  assert.equal(events[0]!.blockHash, first, 'the disconnected block is named');
  assert.deepEqual(fed.states(id), Array(5).fill('in-flight'), 'every node noticed: in flight again, not paid');
  assert.ok(dc.chain.mempoolTxids().includes(a.txid), 'the rebroadcast is in the mempool');

  const [second] = dc.chain.mine(1);
  assert.deepEqual((await fed.poll()).map((e) => [e.kind, e.txid, e.blockHash]), [['confirmed', a.txid, second]]);
  dc.chain.mine(FINALITY - 2);
  assert.deepEqual(await fed.poll(), [], 'one block short of finality depth');
  assert.deepEqual(fed.states(id), Array(5).fill('confirmed'));
  dc.chain.mine(1);
  assert.deepEqual((await fed.poll()).map((e) => e.kind), ['finalized']);
  assert.deepEqual(fed.states(id), Array(5).fill('paid'));

  const outs = await payoutsOnChain(id);
  assert.deepEqual(outs, [{ txid: a.txid, value: 60_000n - TRANSFER_FEE }], 'paid exactly once, by the rebroadcast tx');
  // Each change is recorded with the block that caused it, in the transfer's history and the round log.
  const db = fed.dbs.get('peerA')!;
  assert.deepEqual(
    transferHistory(db, id).map((h) => [h.state, h.blockHash]),
    [['in-flight', null], ['confirmed', first], ['in-flight', first], ['confirmed', second], ['paid', dc.chain.blockAt(dc.chain.height())!.hash]],
  );
  const chainRows = readTimeline(db, 5_000).entries.filter((e) => e.phase === 'chain');
  assert.deepEqual(chainRows.map((e) => e.decision), ['confirmed', 'reverted', 'rebroadcast', 'confirmed', 'finalized']);
  assert.match(chainRows[1]!.reason!, new RegExp(`^block ${first} height \\d+: block ${first} at height \\d+ left the best chain`));
  assert.deepEqual(fed.heard.map((e) => e.kind), ['confirmed', 'reverted', 'rebroadcast', 'confirmed', 'finalized'], 'listeners hear every change');
  assert.equal(fed.logs.filter((l) => l.level === 'error').length, 0, 'a reorg within finality depth is no violation');
});

test('an input spent elsewhere on the new chain: the transfers go back to pending and a later round pays them once', async () => {
  const fed = new Federation(6_000);
  const id = 'reorg-conflict';
  const other = 'reorg-conflict-other';
  fed.fund(other, 40_000n);
  const a = await fed.fundAndPay([{ id, amount: 60_000n }], 300_000n);
  const [first] = dc.chain.mine(1);
  await fed.poll();
  assert.deepEqual(fed.states(id), Array(5).fill('confirmed'));

  dc.chain.reorg(1, { dropTxs: true });
  // On the new chain the vault input of A is spent by another custody tx (signed by the same
  // keys from bookkeeping that never saw A) before any node rebroadcasts A.
  const z = await fed.round([{ id: other, amount: 40_000n }], false);
  const vaultInput = getCustodyTx(fed.dbs.get('peerA')!, a.txid)!.inputs.find((o) => dc.chain.outspend(o.txid, o.vout).spent);
  assert.ok(vaultInput, 'Z spends one of A\'s inputs');
  const [zBlock] = dc.chain.mine(1);
  const events = await fed.poll();
  assert.deepEqual(events.map((e) => e.kind), ['reverted', 'dropped']);
  assert.equal(events[0]!.blockHash, first);
  assert.equal(events[1]!.blockHash, zBlock, 'dropped because of the conflicting spend in this block');
  assert.match(events[1]!.reason, new RegExp(`spent by ${z.txid}`));
  assert.deepEqual(fed.states(id), Array(5).fill('pending'));
  assert.equal(getCustodyTx(fed.dbs.get('peerC')!, a.txid)!.state, 'dropped');
  assert.equal(dc.chain.mempoolTxids().includes(a.txid), false, 'A cannot come back');

  // The next round pays the transfer again from its (still unspent) deposit and Z's change.
  const b = await fed.round([{ id, amount: 60_000n }]);
  assert.notEqual(b.txid, a.txid);
  dc.chain.mine(1);
  await fed.poll();
  dc.chain.mine(FINALITY - 1);
  assert.deepEqual((await fed.poll()).map((e) => [e.kind, e.txid]), [['finalized', b.txid]]);
  assert.deepEqual(fed.states(id), Array(5).fill('paid'));
  for (const db of fed.dbs.values()) assert.equal(getTransfer(db, id)!.txid, b.txid);
  assert.deepEqual(await payoutsOnChain(id), [{ txid: b.txid, value: 60_000n - TRANSFER_FEE }], 'paid once, by the later round');
  assert.deepEqual(await payoutsOnChain(other), [{ txid: z.txid, value: 40_000n - TRANSFER_FEE }]);
  assert.deepEqual(transferHistory(fed.dbs.get('peerA')!, id).map((h) => h.state), ['in-flight', 'confirmed', 'in-flight', 'pending', 'in-flight', 'confirmed', 'paid']);
});

test('a reorg deeper than finality depth: logged at error level as a finality violation, with what to do', async () => {
  const fed = new Federation(7_000);
  const id = 'reorg-deep';
  const a = await fed.fundAndPay([{ id, amount: 50_000n }], 200_000n);
  const [first] = dc.chain.mine(1);
  await fed.poll();
  dc.chain.mine(FINALITY - 1);
  await fed.poll();
  assert.deepEqual(fed.states(id), Array(5).fill('paid'));
  assert.equal(fed.logs.filter((l) => l.level === 'error').length, 0);

  dc.chain.reorg(FINALITY, { dropTxs: true });
  const events = await fed.poll();
  assert.deepEqual(events.map((e) => [e.kind, e.finalityViolation]), [['reverted', true], ['rebroadcast', undefined]]);
  const errors = fed.logs.filter((l) => l.level === 'error');
  assert.equal(errors.length, 5, 'every node reports it');
  for (const e of errors) {
    assert.equal(e.msg, 'finality violation: a reorg disconnected the block of a final custody transaction');
    assert.equal(e.obj.txid, a.txid);
    assert.equal(e.obj.block, first);
    assert.deepEqual(e.obj.transfers, [id]);
    assert.match(String(e.obj.action), /rebroadcasts the signed transaction.*raise custody\.finalityDepth above 3/);
  }
  assert.deepEqual(fed.states(id), Array(5).fill('in-flight'), 'no longer reported paid');
  dc.chain.mine(FINALITY);
  await fed.poll();
  assert.deepEqual(fed.states(id), Array(5).fill('paid'));
  assert.deepEqual(await payoutsOnChain(id), [{ txid: a.txid, value: 50_000n - TRANSFER_FEE }]);
});

test('cost: following confirmed and final custody txs takes one header read per new block and node, none while the tip stays', async () => {
  const counting = countingChain(chain);
  const fed = new Federation(8_000, counting);
  const id = 'reorg-cost';
  await fed.fundAndPay([{ id, amount: 40_000n }], 100_000n);
  dc.chain.mine(1);
  await fed.poll();
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    dc.chain.mine(1);
    counting.reset();
    await fed.poll();
    reads.push(counting.calls.getBlockHeaderByHeight ?? 0);
  }
  assert.deepEqual(fed.states(id), Array(5).fill('paid'));
  assert.ok(reads.every((n) => n <= 5), `header reads per block over 5 nodes: ${reads.join(', ')}`);
  counting.reset();
  await fed.poll();
  assert.equal(counting.calls.getBlockHeaderByHeight ?? 0, 0, 'same tip: nothing read');
  assert.equal(counting.calls.getTx ?? 0, 0, 'nothing unconfirmed to ask about');
  console.log(`custody chain follower: header reads per new block over 5 nodes: ${reads.join(', ')}`);
});
