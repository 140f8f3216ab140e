import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { encodeEnvelope, PROTOCOL_VERSION, type Envelope } from '../../src/p2p/envelope.js';
import { MessageRegistry } from '../../src/p2p/registry.js';
import { SeenCache } from '../../src/p2p/seen-cache.js';
import { validateMessage, type ValidationContext } from '../../src/p2p/validate.js';
import { checkPing, pingPayloadSchema, PING_MAX_BYTES, type PingPayload } from '../../src/p2p/messages/ping.js';
import { reject, ACCEPT } from '../../src/p2p/verdict.js';

const ALICE = '12D3KooWAlice';
const MALLORY = '12D3KooWMallory';

function registry(): MessageRegistry {
  const r = new MessageRegistry();
  r.register<PingPayload>('ping', { schema: pingPayloadSchema, maxBytes: PING_MAX_BYTES, topic: 'ping', freshness: { maxRoundsBehind: 1, maxRoundsAhead: 1 }, check: checkPing });
  r.register('note', {
    schema: z.object({ text: z.string().max(50) }).strict(),
    maxBytes: 300,
    topic: 'notes',
    check: (env: Envelope<{ text: string }>) => (env.payload.text === 'forbidden' ? reject('forbidden-text') : ACCEPT),
  });
  r.register('bignote', { schema: z.object({ text: z.string().max(1500) }).strict(), maxBytes: 2000, topic: 'notes' });
  return r;
}

function ctx(over: Partial<ValidationContext> = {}): ValidationContext {
  return { network: 'regtest', localEpoch: 3, localRound: 100, registry: registry(), seen: new SeenCache(), blockedReason: () => undefined, ...over };
}

const ping: PingPayload = { status: 'ok', state: 'idle', stake: 'ab'.repeat(32) + ':1', clock: 1_700_000_000_000, tip: 120 };
function env(over: Partial<Envelope> = {}): Envelope {
  return { version: PROTOCOL_VERSION, network: 'regtest', epoch: 3, round: 100, type: 'ping', from: ALICE, payload: ping, ...over };
}
const bytes = (e: unknown) => new TextEncoder().encode(JSON.stringify(e));

describe('validateMessage', () => {
  it('accepts a well-formed ping and returns the parsed envelope', () => {
    const out = validateMessage(encodeEnvelope(env()), ALICE, 'ping', ctx());
    assert.deepEqual(out.verdict, { result: 'accept' });
    assert.equal(out.envelope?.from, ALICE);
    assert.equal(out.type, 'ping');
    assert.match(out.digest!, /^[0-9a-f]{64}$/);
  });

  const cases: [string, () => ReturnType<typeof validateMessage>, 'reject' | 'ignore', string][] = [
    ['unsigned', () => validateMessage(encodeEnvelope(env()), undefined, 'ping', ctx()), 'reject', 'unsigned'],
    ['blocklisted sender', () => validateMessage(encodeEnvelope(env()), ALICE, 'ping', ctx({ blockedReason: (p) => (p === ALICE ? 'x' : undefined) })), 'ignore', 'blocklisted'],
    ['not json', () => validateMessage(new TextEncoder().encode('{nope'), ALICE, 'ping', ctx()), 'reject', 'not-json'],
    ['not utf8', () => validateMessage(new Uint8Array([0xff, 0xfe, 0xfd]), ALICE, 'ping', ctx()), 'reject', 'not-utf8'],
    ['oversized', () => validateMessage(bytes({ ...env(), pad: 'x'.repeat(PING_MAX_BYTES) }), ALICE, 'ping', ctx()), 'reject', 'oversized'],
    ['extra envelope key', () => validateMessage(bytes({ ...env(), extra: 1 }), ALICE, 'ping', ctx()), 'reject', 'bad-envelope'],
    ['missing envelope key', () => validateMessage(bytes({ ...env(), round: undefined }), ALICE, 'ping', ctx()), 'reject', 'bad-envelope'],
    ['wrong version', () => validateMessage(encodeEnvelope(env({ version: 99 })), ALICE, 'ping', ctx()), 'reject', 'bad-version'],
    ['wrong network', () => validateMessage(encodeEnvelope(env({ network: 'mainnet' })), ALICE, 'ping', ctx()), 'reject', 'wrong-network'],
    ['unknown type', () => validateMessage(encodeEnvelope(env({ type: 'gossip' })), ALICE, 'ping', ctx()), 'reject', 'unknown-type'],
    ['unknown topic', () => validateMessage(encodeEnvelope(env()), ALICE, 'nope', ctx()), 'reject', 'unknown-topic'],
    ['type on the wrong topic', () => validateMessage(encodeEnvelope(env({ type: 'note', payload: { text: 'hi' } })), ALICE, 'ping', ctx()), 'reject', 'wrong-topic'],
    ['per-type size limit', () => validateMessage(encodeEnvelope(env({ type: 'note', payload: { text: 'y'.repeat(500) } })), ALICE, 'notes', ctx()), 'reject', 'oversized'],
    ['from is not the signer', () => validateMessage(encodeEnvelope(env()), MALLORY, 'ping', ctx()), 'reject', 'from-mismatch'],
    ['bad payload state', () => validateMessage(encodeEnvelope(env({ payload: { ...ping, state: 'dancing' } })), ALICE, 'ping', ctx()), 'reject', 'bad-payload'],
    ['bad payload outpoint', () => validateMessage(encodeEnvelope(env({ payload: { ...ping, stake: 'zz:1' } })), ALICE, 'ping', ctx()), 'reject', 'bad-payload'],
    ['payload extra key', () => validateMessage(encodeEnvelope(env({ payload: { ...ping, admin: true } })), ALICE, 'ping', ctx()), 'reject', 'bad-payload'],
    ['absurd vout (type check)', () => validateMessage(encodeEnvelope(env({ payload: { ...ping, stake: 'ab'.repeat(32) + ':999999' } })), ALICE, 'ping', ctx()), 'reject', 'bad-payload'],
    ['stale round', () => validateMessage(encodeEnvelope(env({ round: 98 })), ALICE, 'ping', ctx()), 'ignore', 'stale-round'],
    ['future round', () => validateMessage(encodeEnvelope(env({ round: 102 })), ALICE, 'ping', ctx()), 'reject', 'future-round'],
    ['stale epoch', () => validateMessage(encodeEnvelope(env({ epoch: 1 })), ALICE, 'ping', ctx()), 'ignore', 'stale-epoch'],
    ['future epoch', () => validateMessage(encodeEnvelope(env({ epoch: 5 })), ALICE, 'ping', ctx()), 'ignore', 'future-epoch'],
    ['type-specific check', () => validateMessage(encodeEnvelope(env({ type: 'note', payload: { text: 'forbidden' } })), ALICE, 'notes', ctx()), 'reject', 'forbidden-text'],
  ];
  for (const [name, run, result, reason] of cases) {
    it(`${result}s: ${name} (${reason})`, () => {
      assert.deepEqual(run().verdict, { result, reason });
    });
  }

  it('tolerates one round of lateness for pings, two for default types', () => {
    assert.equal(validateMessage(encodeEnvelope(env({ round: 99 })), ALICE, 'ping', ctx()).verdict.result, 'accept');
    assert.equal(validateMessage(encodeEnvelope(env({ round: 101 })), ALICE, 'ping', ctx()).verdict.result, 'accept');
    const note = env({ type: 'note', payload: { text: 'a' }, round: 98 });
    assert.equal(validateMessage(encodeEnvelope(note), ALICE, 'notes', ctx()).verdict.result, 'accept');
  });

  it('rejects a replay of bytes already accepted', () => {
    const c = ctx();
    const b = encodeEnvelope(env());
    const first = validateMessage(b, ALICE, 'ping', c);
    assert.equal(first.verdict.result, 'accept');
    c.seen.add(first.digest!);
    assert.deepEqual(validateMessage(b, ALICE, 'ping', c).verdict, { result: 'reject', reason: 'replay' });
    // a different ping (new clock) is not a replay
    const other = encodeEnvelope(env({ payload: { ...ping, clock: ping.clock + 3000 } }));
    assert.equal(validateMessage(other, ALICE, 'ping', c).verdict.result, 'accept');
  });

  it('never throws: a throwing check becomes ignore', () => {
    const r = registry();
    r.register('boom', { schema: z.object({}).strict(), maxBytes: 500, topic: 'boom', check: () => { throw new Error('bug'); } });
    const out = validateMessage(encodeEnvelope(env({ type: 'boom', payload: {} })), ALICE, 'boom', ctx({ registry: r }));
    assert.equal(out.verdict.result, 'ignore');
  });
});

describe('MessageRegistry', () => {
  it('refuses a second, different registration of a type and bad names', () => {
    const r = registry();
    assert.throws(() => r.register('ping', { schema: z.object({}), maxBytes: 10, topic: 'other' }));
    assert.throws(() => r.register('Bad Name', { schema: z.object({}), maxBytes: 10, topic: 'x' }));
    assert.throws(() => r.register('ok', { schema: z.object({}), maxBytes: 0, topic: 'x' }));
    assert.deepEqual(r.topics().sort(), ['notes', 'ping']);
    assert.deepEqual(r.typesOnTopic('notes'), ['note', 'bignote']);
  });
});

describe('SeenCache', () => {
  it('forgets entries after the ttl and bounds its size', () => {
    let t = 0;
    const c = new SeenCache(1000, 3, () => t);
    c.add('a');
    t = 500;
    assert.equal(c.has('a'), true);
    t = 1501;
    assert.equal(c.has('a'), false);
    for (const k of ['b', 'c', 'd', 'e']) c.add(k);
    assert.equal(c.size, 3);
    assert.equal(c.has('b'), false);
    assert.equal(c.has('e'), true);
  });
});
