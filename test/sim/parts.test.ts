// The simulator's parts: event order, the network model, seeded entropy, the chain checks and
// the arguments of `npm run sim`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { EventQueue } from '../../src/sim/queue.js';
import { NetModel, DEFAULT_NET } from '../../src/sim/net.js';
import { World } from '../../src/sim/world.js';
import { withSeededEntropy } from '../../src/sim/entropy.js';
import { SimChain } from '../../src/sim/chain.js';
import { parseSimArgs } from '../../src/sim/args.js';
import { replayCommand } from '../../src/sim/run.js';
import { Prng } from '../../src/util/prng.js';

test('events pop in virtual-time order, ties in the order they were queued', () => {
  const q = new EventQueue();
  const order: string[] = [];
  q.push(20, () => void order.push('b'));
  q.push(10, () => void order.push('a'));
  q.push(20, () => void order.push('c'));
  q.push(5, () => void order.push('first'));
  for (let e = q.pop(); e; e = q.pop()) void e.run();
  assert.deepEqual(order, ['first', 'a', 'b', 'c']);
  assert.throws(() => q.push(Number.NaN, () => {}), /finite/);
});

test('one-way delay is half the RTT within the jitter; a lost segment costs a retransmission timeout; a cut link drops', () => {
  const clean = new NetModel({ ...DEFAULT_NET, loss: 0, bandwidthBps: 1e12 }, new Prng('n'));
  for (let i = 0; i < 200; i++) {
    const d = clean.delay('a', 'b', 100, 0)!;
    assert.ok(d >= 40 && d <= 60, String(d));
  }
  const lossy = new NetModel({ ...DEFAULT_NET, jitterMs: 0, loss: 0.5, bandwidthBps: 1e12 }, new Prng('n'));
  const ds = Array.from({ length: 200 }, () => lossy.delay('a', 'b', 100, 0)!);
  assert.ok(ds.every((d) => (d - 50) % DEFAULT_NET.rtoMs === 0));
  assert.ok(ds.some((d) => d > 50) && lossy.retransmits > 50);
  clean.cut({ a: 'a', b: 'b', from: 1_000, to: 2_000 });
  assert.equal(clean.delay('b', 'a', 100, 1_500), null);
  assert.notEqual(clean.delay('a', 'b', 100, 2_000), null);
  assert.notEqual(clean.delay('a', 'c', 100, 1_500), null);
  assert.throws(() => new NetModel({ ...DEFAULT_NET, loss: 1 }, new Prng('n')), /loss/);
});

test('a message handed to some peers only reaches the rest one hop later; an offline member sends nothing', async () => {
  const w = new World(new NetModel({ ...DEFAULT_NET, jitterMs: 0, loss: 0, bandwidthBps: 1e12 }, new Prng('w')));
  const got: Array<[string, number]> = [];
  for (const m of ['a', 'b', 'c', 'd']) {
    w.join(m);
    w.handle(m, (d) => void got.push([d.to, w.now]));
  }
  w.publish('a', 't', { x: 1 }, { only: ['b'] });
  await w.run(() => false, 10_000);
  assert.deepEqual(got.sort(), [['b', 50], ['c', 100], ['d', 100]]);
  w.offline.add('a');
  w.publish('a', 't', { x: 2 });
  assert.equal(w.queue.size, 0);
});

test('seeded entropy: the same seed draws the same bytes (noble included), and the real source is back afterwards', async () => {
  const draw = () => withSeededEntropy('s', async () => [bytesToHex(crypto.getRandomValues(new Uint8Array(40))), bytesToHex(randomBytes(16))]);
  const a = await draw();
  const b = await draw();
  assert.deepEqual(a, b);
  assert.notEqual((await withSeededEntropy('t', async () => bytesToHex(randomBytes(16)))), a[1]);
  assert.notEqual(bytesToHex(randomBytes(16)), bytesToHex(randomBytes(16)));
  await assert.rejects(withSeededEntropy('x', () => withSeededEntropy('y', async () => 1)), /do not nest/);
  assert.notEqual(bytesToHex(randomBytes(16)), a[1]);
});

test('the simulated chain refuses an unsigned spend, an unknown outpoint and a second spend of one output', () => {
  const chain = new SimChain();
  const prev = 'ab'.repeat(32);
  const script = '5120' + '11'.repeat(32);
  chain.fund(`${prev}:0`, { script, value: 10_000n }, 'req-1');
  const spend = (txid: string, amount: bigint) => {
    const tx = new Transaction({ allowUnknownOutputs: true });
    tx.addInput({ txid, index: 0 });
    tx.addOutput({ script: Buffer.from(script, 'hex'), amount });
    return bytesToHex(tx.unsignedTx);
  };
  assert.match(chain.broadcast('a', spend(prev, 9_000n), 0).problems.join(), /input 0: no valid BIP340 signature/);
  assert.match(chain.broadcast('a', spend('cd'.repeat(32), 9_000n), 0).problems.join(), /unknown outpoint/);
  const second = chain.broadcast('b', spend(prev, 8_000n), 0).problems.join('\n');
  assert.match(second, /both spend ab/);
  assert.match(second, /transfer req-1 paid twice/);
  assert.match(chain.broadcast('b', 'zz', 0).problems.join(), /undecodable/);
});

test('sim arguments: required flags, ranges and strategies are checked; the replay command parses back to the same run', () => {
  assert.throws(() => parseSimArgs(['--seed', '1']), /--nodes is required/);
  assert.throws(() => parseSimArgs(['--nodes', '7']), /--seed is required/);
  assert.throws(() => parseSimArgs(['--nodes', '3', '--seed', '1']), /--nodes must be/);
  assert.throws(() => parseSimArgs(['--nodes', '7', '--seed', '1', '--byzantine', '7']), /--byzantine must be/);
  assert.throws(() => parseSimArgs(['--nodes', '7', '--seed', '1', '--loss', '1.5']), /--loss/);
  assert.throws(() => parseSimArgs(['--nodes', '7', '--seed', '1', '--rtt', '10', '--jitter', '20']), /--jitter/);
  assert.throws(() => parseSimArgs(['--nodes', '7', '--seed', '1', '--strategies', 'silent,bribe']), /bribe/);
  const args = parseSimArgs(['--nodes', '9', '--seed', 'x-1', '--byzantine', '2', '--strategies', 'silent,equivocate', '--loss', '0.05', '--no-regroup', '--partitions', '3', '--json']);
  const { json, ...opts } = args;
  assert.equal(json, true);
  const again = parseSimArgs(replayCommand(opts).split(' ').slice(4));
  assert.deepEqual({ ...again, json: true }, args);
});
