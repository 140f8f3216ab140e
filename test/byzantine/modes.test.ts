// The chaos harness's Byzantine modes (test/support/byzantine/modes.ts): each transformation, what honest validators say about the
// malformed messages, and, through the in-memory round harness, that honest nodes name the
// misbehaving node in their round logs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MessageRegistry } from '../../src/p2p/registry.js';
import { SeenCache } from '../../src/p2p/seen-cache.js';
import { validateMessage } from '../../src/p2p/validate.js';
import { PING_MAX_BYTES, PING_TOPIC, PING_TYPE, checkPing, pingPayloadSchema } from '../../src/p2p/messages/ping.js';
import { PROTOCOL_VERSION, type Envelope } from '../../src/p2p/envelope.js';
import { bodyDigest } from '../../src/rounds/signing/signed.js';
import { MSG, SIGNING_TOPIC, registerSigningMessageTypes, type ProposalPayload, type SharePayload } from '../../src/rounds/signing/messages.js';
import { readTimeline } from '../../src/rounds/roundlog.js';
import { silentLogger } from '../../src/util/log.js';
import {
  BYZANTINE_MODES, Byzantine, corruptShares, envelopeBytes, garbageMessages, oversizedMessages, pickReplays, withCopiedProof, wrongProposal,
  type ByzantineSetting,
} from '../support/byzantine/modes.js';
import type { MessageAt } from '../../src/node/outbound.js';
import { Harness, ROUND_ID, type Sent } from '../rounds/signing/harness.js';

const SELF = '12D3KooWByzantine';
const OTHER = '12D3KooWHonest';
const AT: MessageAt = { epoch: 1, round: 500 };

/** Deterministic bytes so failures replay. */
function seeded(seed: string): (n: number) => Uint8Array {
  let ctr = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) out.set(createHash('sha256').update(`${seed}/${ctr++}`).digest().subarray(0, Math.min(32, n - off)), off);
    return out;
  };
}

function registry(): MessageRegistry {
  const r = new MessageRegistry();
  registerSigningMessageTypes((type, spec) => r.register(type, spec));
  r.register(PING_TYPE, { schema: pingPayloadSchema, maxBytes: PING_MAX_BYTES, topic: PING_TOPIC, check: checkPing });
  return r;
}

function verdict(bytes: Uint8Array, signer: string, topic: string, round = AT.round) {
  return validateMessage(bytes, signer, topic, { network: 'regtest', localEpoch: 1, localRound: round, registry: registry(), seen: new SeenCache(), blockedReason: () => undefined }).verdict;
}

const proposal: ProposalPayload = { h0: 'aa'.repeat(32), h1: 'bb'.repeat(32), tssProof: 'cc'.repeat(65) };

describe('Byzantine transformations', () => {
  it('wrong-proposal replaces both hashes and keeps the (valid) proof', () => {
    const w = wrongProposal(proposal, seeded('w'));
    assert.notEqual(w.h0, proposal.h0);
    assert.notEqual(w.h1, proposal.h1);
    assert.match(w.h0, /^[0-9a-f]{64}$/);
    assert.match(w.h1, /^[0-9a-f]{64}$/);
    assert.equal(w.tssProof, proposal.tssProof);
  });

  it('invalid-share alters exactly one share by one bit and stays well-formed', () => {
    const p: SharePayload = { attempt: 2, shares: ['0f'.repeat(32), '1e'.repeat(32)] };
    const c = corruptShares(p);
    assert.equal(c.attempt, 2);
    assert.equal(c.shares[1], p.shares[1]);
    assert.notEqual(c.shares[0], p.shares[0]);
    assert.equal(c.shares[0]!.slice(0, -1), p.shares[0]!.slice(0, -1));
    assert.equal(parseInt(c.shares[0]!.slice(-1), 16) ^ parseInt(p.shares[0]!.slice(-1), 16), 1);
  });

  it('copied-proof swaps only the proof', () => {
    assert.deepEqual(withCopiedProof(proposal, 'dd'.repeat(65)), { ...proposal, tssProof: 'dd'.repeat(65) });
  });

  it('garbage: each message is rejected by an honest validator for the reason it targets', () => {
    const msgs = garbageMessages('regtest', SELF, AT, seeded('g'));
    assert.deepEqual(msgs.map((m) => m.expect), ['not-utf8', 'not-json', 'bad-envelope', 'bad-payload']);
    for (const m of msgs) assert.deepEqual(verdict(m.bytes, SELF, m.topic), { result: 'reject', reason: m.expect }, m.expect);
  });

  it('oversized: beyond the type limit (sign.proposal 4 KiB, ping 2 KiB), under the gossip frame limit', () => {
    const msgs = oversizedMessages('regtest', SELF, AT, seeded('o'));
    assert.deepEqual(msgs.map((m) => m.topic), [SIGNING_TOPIC, PING_TOPIC]);
    for (const m of msgs) {
      assert.ok(m.bytes.length < 1024 * 1024);
      assert.deepEqual(verdict(m.bytes, SELF, m.topic), { result: 'reject', reason: 'oversized' });
    }
  });

  it('replay: only envelopes two or more rounds old; own ones are ignored as stale, others\' rejected as forged', () => {
    const env = (from: string, round: number): Envelope => ({ version: PROTOCOL_VERSION, network: 'regtest', epoch: 1, round, type: MSG.checksum, from, payload: { checksum: 'ee'.repeat(32), excluded: [], sig: 'ab'.repeat(65) } });
    const recorded = [env(SELF, 495), env(OTHER, 497), env(OTHER, 498), env(SELF, 499), env(OTHER, 500)];
    const picked = pickReplays(recorded, 500, 5);
    assert.deepEqual(picked.map((e) => [e.from, e.round]), [[OTHER, 498], [OTHER, 497], [SELF, 495]]);
    assert.deepEqual(pickReplays(recorded, 500, 1).map((e) => e.round), [498]);
    const bytes = (e: Envelope) => envelopeBytes(e.network, e.from, e.type, e.payload, { epoch: e.epoch, round: e.round });
    assert.deepEqual(verdict(bytes(picked[0]!), SELF, SIGNING_TOPIC), { result: 'reject', reason: 'from-mismatch' });
    assert.deepEqual(verdict(bytes(picked[2]!), SELF, SIGNING_TOPIC), { result: 'ignore', reason: 'stale-round' });
  });
});

/** A Byzantine instance wired to the in-memory harness: its publishes go on the harness wire. */
function byzantineIn(mode: ByzantineSetting, bad: string, rand = seeded(mode)) {
  const handlers = new Map<string, Array<(env: Envelope) => void>>();
  const raw: Array<{ topic: string; bytes: Uint8Array }> = [];
  let h!: Harness;
  const byz = new Byzantine({
    peerId: bad,
    network: 'regtest',
    mode,
    floodCount: 5,
    roundMs: 60_000,
    now: () => h.now,
    publish: async (type, payload) => h.inject({ from: bad, type, payload: h.signAs(bad, type, payload) }),
    publishRaw: async (topic, bytes) => void raw.push({ topic, bytes }),
    subscribe: (type, fn) => {
      handlers.set(type, [...(handlers.get(type) ?? []), fn]);
      return () => handlers.set(type, (handlers.get(type) ?? []).filter((f) => f !== fn));
    },
    log: silentLogger,
    rand,
  });
  const outFilter = (m: Sent): unknown | null => {
    if (m.from === bad) return byz.outgoing(m.type, m.payload, { epoch: h.ks.key.epoch, round: ROUND_ID });
    // What the Byzantine node receives from honest peers (the network's subscribe handlers).
    const env: Envelope = { version: PROTOCOL_VERSION, network: 'regtest', epoch: h.ks.key.epoch, round: ROUND_ID, type: m.type, from: m.from, payload: m.payload };
    for (const f of handlers.get(m.type) ?? []) f(env);
    return m.payload;
  };
  return { byz, raw, outFilter, bind: (harness: Harness) => (h = harness) };
}

/** Runs a round with `bad` misbehaving; runs again after setImmediate for deferred publishes. */
async function roundWith(mode: ByzantineSetting, bad = 'peerA') {
  const b = byzantineIn(mode, bad);
  const h = new Harness({ outFilter: b.outFilter });
  b.bind(h);
  h.start().run();
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    h.run();
  }
  const honest = [...h.dbs.keys()].filter((p) => p !== bad);
  const timelines = honest.map((p) => ({ peer: p, tl: readTimeline(h.dbs.get(p)!, ROUND_ID) }));
  return { h, b, honest, timelines };
}

describe('Byzantine modes in a round: honest nodes name the culprit', () => {
  it('lists every mode', () => {
    assert.deepEqual([...BYZANTINE_MODES].sort(), ['copied-proof', 'equivocate', 'flood', 'garbage', 'invalid-share', 'oversized', 'replay', 'wrong-proposal']);
  });

  it('wrong-proposal: ignored as a different document, left out, the round completes', async () => {
    const { timelines, b } = await roundWith('wrong-proposal');
    assert.equal(b.byz.actions['wrong-proposal'], 1);
    for (const { peer, tl } of timelines) {
      assert.equal(tl.round?.status, 'completed', peer);
      const e = tl.entries.find((x) => x.phase === 'proposal' && x.peer === 'peerA' && x.decision === 'ignore');
      assert.equal(e?.reason, 'different-document', peer);
      assert.ok(!tl.round!.thresholdSet!.includes('peerA'));
    }
  });

  it('equivocate: the second signed proposal is proof: the sender is named EQUIVOCATION and blocked', async () => {
    const { timelines, h, b } = await roundWith('equivocate');
    assert.equal(b.byz.actions['equivocate'], 1);
    assert.equal(h.wire.filter((m) => m.from === 'peerA' && m.type === MSG.proposal).length, 2);
    for (const { peer, tl } of timelines) {
      const e = tl.entries.find((x) => x.decision === 'culprit' && x.peer === 'peerA');
      assert.match(e?.reason ?? '', /^EQUIVOCATION: signed two different sign.proposal/, peer);
      assert.ok(h.blocked.get(peer)!.some((x) => x.peer === 'peerA' && x.code === 'EQUIVOCATION'));
    }
  });

  it('invalid-share: named INVALID_SIGNATURE_SHARE; the round retries without it and completes', async () => {
    const { timelines, b } = await roundWith('invalid-share');
    assert.ok((b.byz.actions['invalid-share'] ?? 0) >= 1);
    for (const { peer, tl } of timelines) {
      assert.equal(tl.round?.status, 'completed', peer);
      assert.ok(tl.round!.culprits.includes('peerA'));
      assert.match(tl.entries.find((x) => x.decision === 'culprit' && x.peer === 'peerA')?.reason ?? '', /^INVALID_SIGNATURE_SHARE/);
    }
  });

  it('copied-proof: another member\'s proof for this round is rejected INVALID_TSS_PROOF', async () => {
    const { timelines, h, b } = await roundWith('copied-proof', 'peerE');
    assert.equal(b.byz.actions['copied-proof'], 1);
    const sent = h.wire.find((m) => m.from === 'peerE' && m.type === MSG.proposal)!.payload as ProposalPayload;
    const others = h.wire.filter((m) => m.from !== 'peerE' && m.type === MSG.proposal).map((m) => (m.payload as ProposalPayload).tssProof);
    assert.ok(others.includes(sent.tssProof), 'the proof is a copy of a peer\'s proof');
    for (const { peer, tl } of timelines) {
      assert.equal(tl.round?.status, 'completed', peer);
      assert.match(tl.entries.find((x) => x.decision === 'culprit' && x.peer === 'peerE')?.reason ?? '', /^INVALID_TSS_PROOF/, peer);
    }
  });

  it('burst modes publish their raw messages once per round; flood repeats each signing message', async () => {
    for (const mode of ['garbage', 'oversized'] as const) {
      const { b } = await roundWith(mode);
      assert.equal(b.raw.length, mode === 'garbage' ? 4 : 2, mode);
      for (const r of b.raw) assert.deepEqual(verdict(r.bytes, 'peerA', r.topic, ROUND_ID).result, 'reject');
    }
    const { h, b } = await roundWith('flood');
    const own = h.wire.filter((m) => m.from === 'peerA' && m.type === MSG.candidate);
    assert.equal(own.length, 5, 'the candidate went out floodCount times');
    // the same body each time (each copy carries its own signature over it)
    assert.ok(own.every((m) => bodyDigest(m.type, m.payload) === bodyDigest(own[0]!.type, own[0]!.payload)));
    assert.ok((b.byz.actions['flood'] ?? 0) >= 4);
  });

  it('replay: nothing to replay in the first round; envelopes of earlier rounds go out in a later one', () => {
    const b = byzantineIn('replay', SELF);
    const checksum = { checksum: 'ee'.repeat(32), excluded: [], sig: 'ab'.repeat(65) };
    b.byz.outgoing(MSG.checksum, checksum, { epoch: 1, round: 10 });
    assert.equal(b.raw.length, 0);
    b.byz.outgoing(MSG.checksum, checksum, { epoch: 1, round: 11 });
    assert.equal(b.raw.length, 0, 'one round back is still fresh for some types: not replayed');
    b.byz.outgoing(MSG.checksum, checksum, { epoch: 1, round: 13 });
    assert.equal(b.raw.length, 2);
    assert.deepEqual(b.raw.map((r) => JSON.parse(new TextDecoder().decode(r.bytes)).round), [11, 10]);
    assert.deepEqual(verdict(b.raw[0]!.bytes, SELF, SIGNING_TOPIC, 13), { result: 'ignore', reason: 'stale-round' });
  });

  it('setMode switches behaviour at run time; none passes messages through untouched', () => {
    const b = byzantineIn('wrong-proposal', SELF);
    assert.notDeepEqual(b.byz.outgoing(MSG.proposal, proposal, AT), proposal);
    b.byz.setMode('none');
    assert.equal(b.byz.mode, 'none');
    assert.equal(b.byz.outgoing(MSG.proposal, proposal, AT), proposal);
    assert.equal(b.byz.outgoing('keygen.round1', { x: 1 }, AT) !== null, true);
  });
});
