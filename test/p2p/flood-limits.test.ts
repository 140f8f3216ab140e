// Issue 16: per-peer limits against floods: unstaked senders, gossip rates, early-message
// buffers, and the gater's probation records.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { encodeEnvelope, PROTOCOL_VERSION, type Envelope } from '../../src/p2p/envelope.js';
import { MessageRegistry } from '../../src/p2p/registry.js';
import { SeenCache } from '../../src/p2p/seen-cache.js';
import { validateMessage, type ValidationContext } from '../../src/p2p/validate.js';
import { checkPing, pingPayloadSchema, PING_MAX_BYTES, type PingPayload } from '../../src/p2p/messages/ping.js';
import { GossipRateLimiter } from '../../src/p2p/rate-limit.js';
import { AdmissionGate } from '../../src/p2p/gater.js';
import { PeerBuffer } from '../../src/util/peer-buffer.js';

const registry = () => {
  const r = new MessageRegistry();
  r.register<PingPayload>('ping', { schema: pingPayloadSchema, maxBytes: PING_MAX_BYTES, topic: 'ping', check: checkPing });
  r.register('note', { schema: z.object({ text: z.string() }).strict(), maxBytes: 300, topic: 'ping' });
  return r;
};
const ctx = (standing: 'staked' | 'probation' | 'outsider'): ValidationContext => ({
  network: 'regtest', localEpoch: 0, localRound: 100, registry: registry(), seen: new SeenCache(), blockedReason: () => undefined, senderStanding: () => standing,
});
const env = (type: string, payload: unknown): Envelope => ({ version: PROTOCOL_VERSION, network: 'regtest', epoch: 0, round: 100, type, from: 'P', payload });
const ping = env('ping', { status: 'ok', state: 'idle', stake: 'ab'.repeat(32) + ':1', clock: 1_700_000_000_000, tip: 1 });
const note = env('note', { text: 'hi' });

describe('unstaked senders', () => {
  it('an outsider is dropped unparsed, whatever it sends', () => {
    for (const e of [ping, note]) assert.deepEqual(validateMessage(encodeEnvelope(e), 'P', 'ping', ctx('outsider')).verdict, { result: 'ignore', reason: 'unstaked-sender' });
    assert.deepEqual(validateMessage(new TextEncoder().encode('not json'), 'P', 'ping', ctx('outsider')).verdict, { result: 'ignore', reason: 'unstaked-sender' });
  });
  it('a peer on probation is heard only with pings', () => {
    assert.equal(validateMessage(encodeEnvelope(ping), 'P', 'ping', ctx('probation')).verdict.result, 'accept');
    assert.deepEqual(validateMessage(encodeEnvelope(note), 'P', 'ping', ctx('probation')).verdict, { result: 'ignore', reason: 'unstaked-sender' });
  });
  it('a staked peer is heard', () => {
    assert.equal(validateMessage(encodeEnvelope(note), 'P', 'ping', ctx('staked')).verdict.result, 'accept');
  });
});

describe('gossip rate limit', () => {
  it('a flooding peer: the excess over its per-topic bucket is refused and lowers its score; other topics and peers are untouched', () => {
    let t = 0;
    const rl = new GossipRateLimiter({ perSecond: 10, burst: 20, now: () => t });
    let ok = 0;
    for (let i = 0; i < 50; i++) if (rl.allow('flooder', 'signing')) ok++;
    assert.equal(ok, 20);
    assert.equal(rl.score('flooder'), -30);
    assert.equal(rl.allow('flooder', 'ping'), true);
    assert.equal(rl.allow('honest', 'signing'), true);
    assert.equal(rl.score('honest'), 0);
    t += 1000; // 10 tokens back
    ok = 0;
    for (let i = 0; i < 15; i++) if (rl.allow('flooder', 'signing')) ok++;
    assert.equal(ok, 10);
    t += 1_200_000; // the penalty decays (half-life 60 s)
    assert.ok(rl.score('flooder') > -0.01);
  });
});

describe('early-message buffers', () => {
  it('one sender flooding fills only its own quota; others still get in; the total is capped', () => {
    const b = new PeerBuffer<number>(3, 5);
    for (let i = 0; i < 100; i++) b.push('flooder', i);
    assert.equal(b.size, 3);
    assert.equal(b.push('honest', 1), true);
    assert.equal(b.push('honest2', 2), true);
    assert.equal(b.push('honest3', 3), false, 'total cap');
    assert.deepEqual(b.take((x) => x < 2), [0, 1, 1]);
    assert.equal(b.size, 2);
    assert.equal(b.push('flooder', 7), true, 'quota frees as items are taken');
  });
});

describe('probation records', () => {
  it('expire after the cooldown and are capped; when full, new unknown peers are refused', () => {
    let t = 0;
    const gate = new AdmissionGate({ graceMs: 0, probationMs: 100, probationCooldownMs: 1000, maxProbations: 3, isAdmitted: () => false, isBlocked: () => false, now: () => t });
    t = 1;
    for (const p of ['a', 'b', 'c']) assert.equal(gate.allow(p), true);
    assert.equal(gate.probationCount, 3);
    assert.equal(gate.allow('d'), false, 'full');
    assert.equal(gate.inProbation('a'), true);
    t = 200;
    assert.equal(gate.inProbation('a'), false);
    assert.equal(gate.allow('a'), false, 'cooldown');
    t = 1200; // past the cooldown: records expire, room again
    assert.equal(gate.allow('d'), true);
    assert.equal(gate.probationCount, 1);
  });
});
