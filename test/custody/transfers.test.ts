import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDb } from '../../src/store/db.js';
import {
  transferMigrations, trackTransfer, recordBroadcast, markConfirmed, markDropped, getTransfer, getCustodyTx, lockedOutpoints,
  excludedTransfers, dueForBump, listTransfers, recordConfirmedCustodyTx, markFinal, markReverted, transferHistory,
} from '../../src/custody/transfers.js';
import { CustodyChainFollower } from '../../src/custody/custody-chain.js';
import { MetanodeError, isMetanodeError } from '../../src/util/errors.js';
import type { OutSpend, Tx } from '../../src/chain/types.js';
import { roundLogMigrations } from '../../src/rounds/roundlog.js';

const T = (n: number) => n.toString(16).padStart(64, '0');
const B = (h: number) => ({ height: h, hash: `b${h}`.padStart(64, '0') });
const ins = (...n: number[]) => n.map((x) => ({ txid: T(x), vout: 0 }));

function fresh() {
  const db = openDb(':memory:', transferMigrations);
  for (const id of ['a', 'b', 'c']) trackTransfer(db, id, 1);
  return db;
}

test('pending -> in-flight -> paid', () => {
  const db = fresh();
  assert.equal(getTransfer(db, 'a')!.state, 'pending');
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1, 2), transferIds: ['a', 'b'], feeRate: 2, height: 10, now: 5 });
  assert.deepEqual(getTransfer(db, 'a'), { requestId: 'a', state: 'in-flight', txid: T(100), updatedAt: 5 });
  assert.deepEqual(excludedTransfers(db), ['a', 'b']);
  assert.deepEqual(lockedOutpoints(db), ins(1, 2));
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1, 2), transferIds: ['a', 'b'], feeRate: 2, height: 10, now: 6 }); // idempotent
  markConfirmed(db, T(100), B(12), 7);
  assert.equal(getTransfer(db, 'a')!.state, 'confirmed');
  assert.deepEqual(excludedTransfers(db), ['a', 'b'], 'a confirmed transfer is not paid again');
  assert.deepEqual(lockedOutpoints(db), ins(1, 2), 'a confirmed tx\'s inputs stay locked until it is final (a reorg may give them back)');
  assert.deepEqual(markFinal(db, T(100), 6, { blockHash: B(17).hash, height: 17, reason: '6 confirmations' }, 8), ['a', 'b']);
  assert.equal(getTransfer(db, 'a')!.state, 'paid');
  assert.equal(getTransfer(db, 'b')!.txid, T(100));
  assert.deepEqual(transferHistory(db, 'a').map((h) => [h.state, h.txid, h.blockHash]), [['in-flight', T(100), null], ['confirmed', T(100), B(12).hash], ['paid', T(100), B(17).hash]]);
  assert.equal(getTransfer(db, 'c')!.state, 'pending');
  assert.deepEqual(lockedOutpoints(db), []);
  assert.throws(() => recordBroadcast(db, { txid: T(101), roundId: 2, hex: '00', inputs: ins(3), transferIds: ['a'], feeRate: 2, height: 13, now: 8 }),
    (e) => isMetanodeError(e, 'TRANSFER_CONFLICT'));
  assert.throws(() => markDropped(db, T(100), 9), (e) => isMetanodeError(e, 'INVALID_INPUT'));
});

test('dropped tx puts its transfers back to pending', () => {
  const db = fresh();
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1), transferIds: ['a'], feeRate: 2, height: 10, now: 5 });
  markDropped(db, T(100), 6);
  assert.deepEqual(getTransfer(db, 'a'), { requestId: 'a', state: 'pending', updatedAt: 6 });
  assert.equal(getCustodyTx(db, T(100))!.state, 'dropped');
  assert.deepEqual(excludedTransfers(db), []);
});

test('a transfer is never in two unconfirmed txs that could both confirm; RBF replacement is allowed', () => {
  const db = fresh();
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1, 2), transferIds: ['a'], feeRate: 2, height: 10, now: 5 });
  // another tx with disjoint inputs paying the same transfer: refused
  assert.throws(() => recordBroadcast(db, { txid: T(101), roundId: 2, hex: '00', inputs: ins(3), transferIds: ['a'], feeRate: 3, height: 11, now: 6 }),
    (e) => isMetanodeError(e, 'TRANSFER_CONFLICT'));
  // a "replacement" with different inputs: refused
  assert.throws(() => recordBroadcast(db, { txid: T(101), roundId: 2, hex: '00', inputs: ins(1, 3), transferIds: ['a'], feeRate: 3, height: 11, now: 6, replaces: T(100) }),
    (e) => isMetanodeError(e, 'TRANSFER_CONFLICT'));
  // same inputs but not a higher fee rate: refused
  assert.throws(() => recordBroadcast(db, { txid: T(101), roundId: 2, hex: '00', inputs: ins(2, 1), transferIds: ['a'], feeRate: 2, height: 11, now: 6, replaces: T(100) }),
    (e) => isMetanodeError(e, 'TRANSFER_CONFLICT'));
  // spending a locked input without replacing: refused
  assert.throws(() => recordBroadcast(db, { txid: T(102), roundId: 2, hex: '00', inputs: ins(2), transferIds: ['b'], feeRate: 3, height: 11, now: 6 }),
    (e) => isMetanodeError(e, 'TRANSFER_CONFLICT'));
  assert.deepEqual(dueForBump(db, 12, 3), []);
  assert.deepEqual(dueForBump(db, 13, 3), [{ txid: T(100), inputs: ins(1, 2), feeRate: 2, transferIds: ['a'] }]);
  recordBroadcast(db, { txid: T(101), roundId: 5, hex: '00', inputs: ins(2, 1), transferIds: ['a'], feeRate: 3, height: 13, now: 7, replaces: T(100) });
  assert.equal(getCustodyTx(db, T(100))!.state, 'replaced');
  assert.equal(getTransfer(db, 'a')!.txid, T(101));
  assert.deepEqual(dueForBump(db, 14, 3), []);
  // the original confirms after all: the transfer is paid by it, the replacement is dropped
  markConfirmed(db, T(100), B(14), 8);
  assert.deepEqual(getTransfer(db, 'a'), { requestId: 'a', state: 'confirmed', txid: T(100), updatedAt: 8 });
  assert.equal(getCustodyTx(db, T(101))!.state, 'dropped');
  assert.deepEqual(listTransfers(db, 'pending').map((t) => t.requestId), ['b', 'c']);
});

/** A fake chain: a best chain of block hashes, txs with a status, spends, and a broadcast hook. */
function fakeChain(o: { tip: number; txs: Record<string, Tx | null>; spends?: Record<string, OutSpend>; broadcast?: (hex: string) => string }) {
  const chain = {
    hashes: new Map<number, string>(Array.from({ length: o.tip + 1 }, (_, h) => [h, B(h).hash])),
    tip: o.tip,
    broadcasts: [] as string[],
    getTip: async () => ({ height: chain.tip, hash: chain.hashes.get(chain.tip)!, time: 0 }),
    getBlockHeaderByHeight: async (h: number) => ({ height: h, hash: chain.hashes.get(h)!, time: 0, prevHash: '' }),
    getTx: async (id: string) => o.txs[id] ?? null,
    getOutSpend: async (id: string, vout: number) => o.spends?.[`${id}:${vout}`] ?? { spent: false },
    broadcast: async (hex: string) => {
      chain.broadcasts.push(hex);
      return o.broadcast ? o.broadcast(hex) : T(0);
    },
  };
  return chain;
}
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

test('following the chain: confirmed, evicted, conflicted, not yet seen', async () => {
  const db = openDb(':memory:', [...transferMigrations, ...roundLogMigrations]);
  for (const id of ['a', 'b', 'c', 'd']) trackTransfer(db, id, 1);
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1), transferIds: ['a'], feeRate: 2, height: 10, now: 5 });
  recordBroadcast(db, { txid: T(101), roundId: 1, hex: '01', inputs: ins(2), transferIds: ['b'], feeRate: 2, height: 10, now: 5 });
  recordBroadcast(db, { txid: T(103), roundId: 1, hex: '03', inputs: ins(4), transferIds: ['d'], feeRate: 2, height: 10, now: 5 });
  recordBroadcast(db, { txid: T(102), roundId: 1, hex: '00', inputs: ins(3), transferIds: ['c'], feeRate: 2, height: 10, now: 5 });
  const chain = fakeChain({
    tip: 11,
    txs: {
      [T(100)]: { txid: T(100), hex: '00', vout: [], status: { confirmed: true, blockHeight: 11, blockHash: B(11).hash } },
      [T(101)]: null, // evicted
      [T(102)]: { txid: T(102), hex: '00', vout: [], status: { confirmed: false } },
    },
    spends: { [`${T(3)}:0`]: { spent: true, txid: T(999), status: { confirmed: true, blockHeight: 11, blockHash: B(11).hash } } },
    // T(101)'s inputs are gone (evicted for good); T(103) was just not seen yet and is accepted.
    broadcast: (hex) => {
      if (hex === '01') throw new MetanodeError('TX_REJECTED', 'bad-txns-inputs-missingorspent');
      return T(103);
    },
  });
  const f = new CustodyChainFollower({ db, chain, finalityDepth: 2, log: quiet, now: () => 20 });
  const events = await f.poll(await chain.getTip());
  assert.deepEqual(events.map((e) => [e.kind, e.txid]), [['confirmed', T(100)], ['dropped', T(101)], ['dropped', T(102)], ['rebroadcast', T(103)]]);
  assert.deepEqual(chain.broadcasts, ['01', '03']);
  assert.equal(getCustodyTx(db, T(103))!.state, 'unconfirmed', 'an unseen tx whose rebroadcast is accepted stays in flight');
  assert.deepEqual(listTransfers(db).map((t) => [t.requestId, t.state]), [['a', 'confirmed'], ['b', 'pending'], ['c', 'pending'], ['d', 'in-flight']]);
  assert.equal(transferHistory(db, 'c').at(-1)!.blockHash, B(11).hash, 'the conflicting spend\'s block is the cause');
  // one more block: a is at finality depth 2, paid
  chain.tip = 12;
  chain.hashes.set(12, B(12).hash);
  assert.deepEqual((await f.poll(await chain.getTip())).map((e) => [e.kind, e.txid, e.blockHash]), [['rebroadcast', T(103), undefined], ['finalized', T(100), B(12).hash]]);
  assert.equal(getTransfer(db, 'a')!.state, 'paid');
});

test('a payment seen confirmed on chain is recorded: its transfers are paid, a competing in-flight tx is dropped', () => {
  const db = fresh();
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1), transferIds: ['a'], feeRate: 2, height: 10, now: 5 });
  recordConfirmedCustodyTx(db, { txid: T(200), hex: '01', inputs: ins(1, 2), transferIds: ['a', 'b'], block: B(12), now: 9 });
  assert.equal(getCustodyTx(db, T(200))!.state, 'confirmed');
  assert.equal(getCustodyTx(db, T(100))!.state, 'dropped', 'our own version spending the same input can never confirm');
  assert.deepEqual(listTransfers(db).map((t) => [t.requestId, t.state, t.txid]), [['a', 'confirmed', T(200)], ['b', 'confirmed', T(200)], ['c', 'pending', undefined]]);
  assert.deepEqual(excludedTransfers(db), ['a', 'b']);
  // seen again on the next poll: nothing changes
  assert.equal(recordConfirmedCustodyTx(db, { txid: T(200), hex: '01', inputs: ins(1, 2), transferIds: ['a', 'b'], block: B(12), now: 10 }), false);
  assert.equal(getTransfer(db, 'a')!.updatedAt, 9);
});

test('a reverted tx takes its confirmed and paid transfers back to in flight; a re-mined one moves to its new block', () => {
  const db = fresh();
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1), transferIds: ['a', 'b'], feeRate: 2, height: 10, now: 5 });
  markConfirmed(db, T(100), B(11), 6);
  markFinal(db, T(100), 2, { blockHash: B(12).hash, height: 12, reason: 'final' }, 7);
  assert.equal(markReverted(db, T(100), 14, { blockHash: B(11).hash, height: 11, reason: 'left the best chain' }, 8), 'final');
  const tx = getCustodyTx(db, T(100))!;
  assert.deepEqual([tx.state, tx.blockHash, tx.broadcastHeight], ['unconfirmed', undefined, 14], 'unconfirmed again; the RBF clock restarts at the tip');
  assert.deepEqual(listTransfers(db).map((t) => [t.requestId, t.state, t.txid]), [['a', 'in-flight', T(100)], ['b', 'in-flight', T(100)], ['c', 'pending', undefined]]);
  assert.deepEqual(lockedOutpoints(db), ins(1), 'its inputs are locked again: no new candidate spends them');
  assert.equal(markConfirmed(db, T(100), { height: 15, hash: 'ff'.repeat(32) }, 9, 15), true);
  assert.equal(markConfirmed(db, T(100), { height: 15, hash: 'ff'.repeat(32) }, 10, 16), false, 'same block again: no change');
  assert.deepEqual(transferHistory(db, 'a').map((h) => h.state), ['in-flight', 'confirmed', 'paid', 'in-flight', 'confirmed']);
  assert.throws(() => markDropped(db, T(100), 11), (e) => isMetanodeError(e, 'INVALID_INPUT'));
});

test('upgrade: rows confirmed before block tracking are final, their transfers stay paid', () => {
  const db = openDb(':memory:', [transferMigrations[0]!]);
  db.prepare("INSERT INTO custody_txs (txid, round_id, hex, inputs, transfer_ids, fee_rate, broadcast_height, state, confirmed_height, created_at, updated_at) VALUES (?, 1, '00', '[]', '[\"a\"]', 1, 5, 'confirmed', 6, 1, 1)").run(T(1));
  db.prepare("INSERT INTO transfers (request_id, state, txid, updated_at) VALUES ('a', 'paid', ?, 1)").run(T(1));
  migrate(db, transferMigrations);
  assert.equal(getCustodyTx(db, T(1))!.state, 'final');
  assert.equal(getTransfer(db, 'a')!.state, 'paid');
  assert.deepEqual(transferHistory(db, 'a'), []);
});
