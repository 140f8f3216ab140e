import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../src/store/db.js';
import {
  transferMigrations, trackTransfer, recordBroadcast, markConfirmed, markDropped, getTransfer, getCustodyTx, lockedOutpoints,
  excludedTransfers, dueForBump, reconcileCustodyTxs, listTransfers, recordConfirmedCustodyTx,
} from '../../src/custody/transfers.js';
import { MetanodeError, isMetanodeError } from '../../src/util/errors.js';
import type { OutSpend, Tx } from '../../src/chain/types.js';

const T = (n: number) => n.toString(16).padStart(64, '0');
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
  markConfirmed(db, T(100), 12, 7);
  assert.equal(getTransfer(db, 'a')!.state, 'paid');
  assert.equal(getTransfer(db, 'b')!.txid, T(100));
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
  markConfirmed(db, T(100), 14, 8);
  assert.deepEqual(getTransfer(db, 'a'), { requestId: 'a', state: 'paid', txid: T(100), updatedAt: 8 });
  assert.equal(getCustodyTx(db, T(101))!.state, 'dropped');
  assert.deepEqual(listTransfers(db, 'pending').map((t) => t.requestId), ['b', 'c']);
});

test('reconcile against the chain: confirmed, evicted, conflicted, not yet seen', async () => {
  const db = fresh();
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1), transferIds: ['a'], feeRate: 2, height: 10, now: 5 });
  recordBroadcast(db, { txid: T(101), roundId: 1, hex: '01', inputs: ins(2), transferIds: ['b'], feeRate: 2, height: 10, now: 5 });
  recordBroadcast(db, { txid: T(103), roundId: 1, hex: '03', inputs: ins(4), transferIds: ['d'], feeRate: 2, height: 10, now: 5 });
  recordBroadcast(db, { txid: T(102), roundId: 1, hex: '00', inputs: ins(3), transferIds: ['c'], feeRate: 2, height: 10, now: 5 });
  const txs: Record<string, Tx | null> = {
    [T(100)]: { txid: T(100), hex: '00', vout: [], status: { confirmed: true, blockHeight: 11 } },
    [T(101)]: null, // evicted
    [T(102)]: { txid: T(102), hex: '00', vout: [], status: { confirmed: false } },
  };
  const spends: Record<string, OutSpend> = { [`${T(3)}:0`]: { spent: true, txid: T(999), status: { confirmed: true, blockHeight: 11 } } };
  const rebroadcast: string[] = [];
  const chain = {
    getTx: async (id: string) => txs[id] ?? null,
    getOutSpend: async (id: string, vout: number) => spends[`${id}:${vout}`] ?? { spent: false },
    // T(101)'s inputs are gone (evicted for good); T(103) was just not seen yet and is accepted.
    broadcast: async (hex: string) => {
      rebroadcast.push(hex);
      if (hex === '01') throw new MetanodeError('TX_REJECTED', 'bad-txns-inputs-missingorspent');
      return T(103);
    },
  };
  const r = await reconcileCustodyTxs(db, chain, 20);
  assert.deepEqual(r, { confirmed: [T(100)], dropped: [T(101), T(102)] });
  assert.deepEqual(rebroadcast, ['01', '03']);
  assert.equal(getCustodyTx(db, T(103))!.state, 'unconfirmed', 'an unseen tx whose rebroadcast is accepted stays in flight');
  assert.deepEqual(listTransfers(db).map((t) => [t.requestId, t.state]), [['a', 'paid'], ['b', 'pending'], ['c', 'pending'], ['d', 'in-flight']]);
});

test('a payment seen confirmed on chain is recorded: its transfers are paid, a competing in-flight tx is dropped', () => {
  const db = fresh();
  recordBroadcast(db, { txid: T(100), roundId: 1, hex: '00', inputs: ins(1), transferIds: ['a'], feeRate: 2, height: 10, now: 5 });
  recordConfirmedCustodyTx(db, { txid: T(200), hex: '01', inputs: ins(1, 2), transferIds: ['a', 'b'], height: 12, now: 9 });
  assert.equal(getCustodyTx(db, T(200))!.state, 'confirmed');
  assert.equal(getCustodyTx(db, T(100))!.state, 'dropped', 'our own version spending the same input can never confirm');
  assert.deepEqual(listTransfers(db).map((t) => [t.requestId, t.state, t.txid]), [['a', 'paid', T(200)], ['b', 'paid', T(200)], ['c', 'pending', undefined]]);
  assert.deepEqual(excludedTransfers(db), ['a', 'b']);
  // seen again on the next poll: nothing changes
  recordConfirmedCustodyTx(db, { txid: T(200), hex: '01', inputs: ins(1, 2), transferIds: ['a', 'b'], height: 12, now: 10 });
  assert.equal(getTransfer(db, 'a')!.updatedAt, 9);
});
