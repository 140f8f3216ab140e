// The fuzzer: a few thousand seeded cases over every target must all be refused with a reason;
// the corpus it mutates is itself valid; a lax schema is caught; a case replays from its index.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { z } from 'zod';
import { runFuzz, FUZZ_TARGETS, normaliseReason } from '../../src/fuzz/run.js';
import { parseFuzzArgs } from '../../src/fuzz/args.js';
import { MessageFuzzer, corpusProblems } from '../../src/fuzz/messages.js';
import { mutate, isRequiredKey, isLowerHexString, type Json } from '../../src/fuzz/mutate.js';
import { GOSSIP_CORPUS } from '../../src/fuzz/corpus.js';
import { MessageRegistry } from '../../src/p2p/registry.js';
import { registerNodeMessageTypes, nodeDirectKinds } from '../../src/node/message-types.js';
import { MSG, proposalPayloadSchema } from '../../src/rounds/signing/messages.js';
import { Prng } from '../../src/util/prng.js';

describe('fuzz run', () => {
  it('3000 cases over every target: all refused with a reason, every message type and direct kind covered', { timeout: 120_000 }, async () => {
    const r = await runFuzz({ cases: 3000, seed: 'suite-1' });
    assert.deepEqual(r.sanity, []);
    assert.deepEqual(r.failures, [], r.failures.map((f) => `${f.index} ${f.target} ${f.subject} ${f.op}: ${f.failure}`).join('\n'));
    assert.equal(r.passed, 3000);
    assert.deepEqual(Object.keys(r.targets).sort(), [...FUZZ_TARGETS].sort());
    const registry = registerNodeMessageTypes();
    const allTypes = registry.topics().flatMap((t) => registry.typesOnTopic(t)).sort();
    assert.deepEqual(Object.keys(r.targets.gossip!.bySubject).sort(), allTypes, 'every registered gossip type fuzzed');
    assert.deepEqual(Object.keys(r.targets['direct-request']!.bySubject).sort(), [...nodeDirectKinds().keys()].sort());
    // Every layer of the gossip validator was reached.
    const gossipReasons = Object.keys(r.targets.gossip!.byReason);
    for (const reason of ['not-utf8', 'not-json', 'bad-envelope', 'bad-version', 'wrong-network', 'unknown-type', 'wrong-topic', 'unknown-topic', 'oversized', 'from-mismatch', 'unsigned', 'bad-payload', 'future-round', 'replay'])
      assert.ok(gossipReasons.includes(`reject:${reason}`), `gossip reason ${reason} reached`);
    const http = Object.keys(r.targets.http!.byReason).join('\n');
    for (const status of ['400', '404', '405', '413', '415']) assert.match(http, new RegExp(`^${status} `, 'm'));
    assert.match(http, /invalid transfer request: bad-(payout|refund)-address/, 'the node\'s own checks judged what the HTTP schema let through');
    assert.ok(Object.keys(r.targets.esplora!.byReason).some((x) => x.startsWith('CHAIN_BAD_RESPONSE')));
    assert.ok(Object.keys(r.targets.bitcoind!.byReason).some((x) => x.startsWith('CHAIN_BAD_RESPONSE')));
  });

  it('a case replays from (seed, index)', async () => {
    const all = await runFuzz({ cases: 40, seed: 'replay', targets: ['gossip', 'esplora'] });
    const one = await runFuzz({ cases: 40, seed: 'replay', targets: ['gossip', 'esplora'], only: 17 });
    assert.equal(one.cases, 1);
    const [target, t] = Object.entries(one.targets)[0]!;
    assert.ok(all.targets[target as 'gossip']!.bySubject[Object.keys(t.bySubject)[0]!]! >= 1);
    assert.ok(all.targets[target as 'gossip']!.byOp[Object.keys(t.byOp)[0]!]! >= 1);
  });

  it('a lax schema is caught: an odd-length tss_proof (the old regex) counts as an acceptance, with its replay', async () => {
    const lax = new MessageRegistry();
    lax.register(MSG.proposal, { schema: proposalPayloadSchema.extend({ tssProof: z.string().regex(/^[0-9a-f]{2,256}$/) }).strict(), maxBytes: 4096, topic: 'signing' });
    const f = new MessageFuzzer(lax, nodeDirectKinds());
    let caught = 0;
    for (let i = 0; i < 400 && caught === 0; i++) {
      const c = f.gossip(new Prng('lax').fork(i), MSG.proposal);
      const out = await c.run();
      if (!out.ok) {
        assert.equal(c.op, 'payload-odd-hex');
        assert.equal(c.detail, 'tssProof');
        assert.equal(out.failure, 'accepted');
        caught++;
      }
    }
    assert.equal(caught, 1, 'the fuzzer finds the odd-length proof');
  });
});

describe('fuzz building blocks', () => {
  it('the corpus is accepted unchanged by the node\'s validators', () => {
    assert.deepEqual(corpusProblems(new MessageFuzzer()), []);
  });

  it('every mutation of every corpus payload fails its schema', () => {
    const registry = registerNodeMessageTypes();
    const rng = new Prng('mutations');
    for (const [type, payload] of Object.entries(GOSSIP_CORPUS)) {
      const schema = registry.get(type)!.schema;
      for (let i = 0; i < 60; i++) {
        const m = mutate(payload as Json, schema, rng);
        assert.ok(m);
        assert.equal(schema.safeParse(m.value).success, false, `${type} ${m.op} at ${m.path} must be malformed`);
      }
    }
  });

  it('schema introspection: required keys, optional keys, record entries, hex strings', () => {
    const s = z.object({ a: z.string(), b: z.string().optional(), r: z.record(z.string(), z.string()), h: z.string().regex(/^[0-9a-f]{64}$/), o: z.object({ x: z.number() }).strict() }).strict();
    assert.equal(isRequiredKey(s, [], 'a'), true);
    assert.equal(isRequiredKey(s, [], 'b'), false);
    assert.equal(isRequiredKey(s, ['r'], 'k'), false);
    assert.equal(isRequiredKey(s, ['o'], 'x'), true);
    assert.equal(isLowerHexString(s, ['h']), true);
    assert.equal(isLowerHexString(s, ['a']), false);
  });

  it('Prng: same seed, same sequence; forks are independent and stable', () => {
    const a = new Prng('s');
    const b = new Prng('s');
    assert.deepEqual([a.int(1000), a.int(1000), a.hex(4)], [b.int(1000), b.int(1000), b.hex(4)]);
    assert.notDeepEqual([new Prng('s').fork(1).int(1e9)], [new Prng('s').fork(2).int(1e9)]);
    assert.equal(new Prng('s').fork(3).int(1e9), new Prng('s').fork(3).int(1e9));
    assert.throws(() => a.int(0), /positive integer/);
  });

  it('reasons are normalised without ids and sizes', () => {
    assert.equal(normaliseReason('CHAIN_BAD_RESPONSE: esplora tx ' + 'ab'.repeat(32) + ': bad'), 'CHAIN_BAD_RESPONSE: esplora tx <hash>: bad');
    assert.equal(normaliseReason('413 PAYLOAD_TOO_LARGE: body larger than 2048 bytes'), '413 PAYLOAD_TOO_LARGE: body larger than N bytes');
  });

  it('arguments', () => {
    assert.deepEqual(parseFuzzArgs(['--cases', '12', '--seed', 'x', '--json', '--target', 'http']), { cases: 12, seed: 'x', targets: ['http'], json: true });
    assert.equal(parseFuzzArgs(['--case', '5']).only, 5);
    assert.throws(() => parseFuzzArgs(['--cases', '0']), /--cases must be a positive whole number/);
    assert.throws(() => parseFuzzArgs(['--target', 'dns']), /--target must be one of/);
    assert.throws(() => parseFuzzArgs(['--seed']), /--seed needs a value/);
    assert.throws(() => parseFuzzArgs(['--bogus']), /unknown argument "--bogus"/);
    assert.deepEqual(parseFuzzArgs(['--target', 'http', '--target=esplora', '--seed=z']).targets, ['http', 'esplora']);
  });

  it('npm run fuzz -- --json prints the report and exits 0; bad arguments exit 2', () => {
    const ok = spawnSync(process.execPath, ['--import', 'tsx', 'src/fuzz/cli.ts', '--cases', '60', '--seed', 'cli', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ok.status, 0, ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.equal(report.seed, 'cli');
    assert.equal(report.cases, 60);
    assert.equal(report.failed, 0);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/fuzz/cli.ts', '--cases', 'many'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--cases must be a positive whole number/);
  });
});
