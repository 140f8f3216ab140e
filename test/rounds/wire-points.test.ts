// The point-carrying messages parsed in bulk (keygen round 1, regroup dealing and commit, signing
// commit) carry uncompressed points: the schemas accept exactly that form, and the largest
// message the schema allows still fits its type's byte limit inside an envelope.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ZodType } from 'zod';
import { encodeEnvelope, MAX_ENVELOPE_BYTES } from '../../src/p2p/envelope.js';
import { KeygenTypes, keygenGossipSpecs } from '../../src/rounds/keygen/messages.js';
import { RegroupTypes, regroupGossipSpecs } from '../../src/rounds/regroup/messages.js';
import { MSG, SIGNING_MESSAGE_SPECS } from '../../src/rounds/signing/messages.js';

const point = secp256k1.Point.BASE.multiply(7n);
const wire = bytesToHex(point.toBytes(false));
const compressed = bytesToHex(point.toBytes(true));
const id = 'ab'.repeat(32);
const proof = wire + 'cd'.repeat(32);
const nonce = (p: string) => ({ identifier: id, hiding: p, binding: wire });

/** Encoded size of the payload in an envelope with the longest allowed sender id. */
function envelopeBytes(type: string, payload: unknown): number {
  return encodeEnvelope({ version: 1, network: 'regtest', epoch: 1e12, round: 1e12, type, from: 'x'.repeat(128), payload }).length;
}

const cases: { type: string; spec: { schema: ZodType<unknown>; maxBytes: number }; make: (p: string) => unknown; max: unknown }[] = [
  {
    type: KeygenTypes.round1,
    spec: keygenGossipSpecs[KeygenTypes.round1],
    make: (p) => ({ identifier: id, commitment: [wire, p], proofOfKnowledge: proof }),
    max: { identifier: id, commitment: Array(1000).fill(wire), proofOfKnowledge: proof },
  },
  {
    type: RegroupTypes.dealing,
    spec: regroupGossipSpecs[RegroupTypes.dealing],
    make: (p) => ({ from: id, commitment: [wire, p] }),
    max: { from: id, commitment: Array(1000).fill(wire) },
  },
  {
    type: RegroupTypes.commit,
    spec: regroupGossipSpecs[RegroupTypes.commit],
    make: (p) => ({ commitments: [nonce(p)] }),
    max: { commitments: [nonce(wire)] },
  },
  {
    type: MSG.commit,
    spec: SIGNING_MESSAGE_SPECS[MSG.commit],
    make: (p) => ({ attempt: 0, signers: ['a'], commitments: [nonce(p)], sig: 'ab'.repeat(65) }),
    max: { attempt: 1000, signers: Array(256).fill('y'.repeat(128)), commitments: Array(2000).fill(nonce(wire)), sig: 'ab'.repeat(65) },
  },
  {
    // The largest relay carries the largest commit (equivocation evidence goes out one message per relay).
    type: MSG.relay,
    spec: SIGNING_MESSAGE_SPECS[MSG.relay],
    make: (p) => ({ peer: 'a', type: MSG.commit, payload: { attempt: 0, signers: ['a'], commitments: [nonce(p)], sig: 'ab'.repeat(65) }, sig: 'ab'.repeat(65) }),
    max: {
      peer: 'y'.repeat(128), type: MSG.commit, sig: 'ab'.repeat(65),
      payload: { attempt: 1000, signers: Array(256).fill('y'.repeat(128)), commitments: Array(2000).fill(nonce(wire)), sig: 'ab'.repeat(65) },
    },
  },
];

for (const c of cases) {
  test(`${c.type}: uncompressed points only, and the largest valid message fits maxBytes`, () => {
    assert.ok(c.spec.schema.safeParse(c.make(wire)).success);
    for (const bad of [compressed, '04' + wire.slice(2, 66), wire.toUpperCase(), '06' + wire.slice(2)]) assert.ok(!c.spec.schema.safeParse(c.make(bad)).success, bad);
    assert.ok(c.spec.schema.safeParse(c.max).success);
    const size = envelopeBytes(c.type, c.max);
    assert.ok(size <= c.spec.maxBytes, `${c.type}: ${size} > ${c.spec.maxBytes}`);
    assert.ok(c.spec.maxBytes <= MAX_ENVELOPE_BYTES);
  });
}
