// The mirror's answer is checked against our own key: a peer cannot forge a ping of ours to make
// a node exit as a doppelganger; it can only withhold or replay (doppelganger.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RPC } from '@chainsafe/libp2p-gossipsub/message';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { peerIdFromString } from '@libp2p/peer-id';
import type { SignedMessage } from '@libp2p/interface';
import { identity } from './helpers.js';
import { PingMirror, mirroredPingSchema, openMirroredPing, type MirroredPing } from '../../src/p2p/ping-mirror.js';

const topic = 'metanode/regtest/ping/1';

/** A gossipsub StrictSign message as js-gossipsub builds it, signed by `key` as author `author`. */
async function signed(author: string, key: { sign(b: Uint8Array): Uint8Array | Promise<Uint8Array> }, data: Uint8Array): Promise<MirroredPing> {
  const seqno = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);
  const bytes = concatBytes(utf8ToBytes('libp2p-pubsub:'), RPC.Message.encode({ from: peerIdFromString(author).toMultihash().bytes, data, seqno, topic }));
  return { data: bytesToHex(data), seqno: bytesToHex(seqno), signature: bytesToHex(await key.sign(bytes)), topic };
}

test('a ping signed with our key opens; a forged or altered one does not (a peer cannot make us exit)', async () => {
  const [me, other] = await Promise.all([identity(0), identity(1)]);
  const self = peerIdFromString(me!.peerId);
  const data = utf8ToBytes('{"type":"ping"}');
  const real = await signed(me!.peerId, me!.key, data);
  assert.deepEqual(await openMirroredPing(self, real), data);
  // Forged: signed by another key but claiming our peer id.
  assert.equal(await openMirroredPing(self, await signed(me!.peerId, other!.key, data)), null);
  // Altered data, sequence number or topic under a genuine signature.
  assert.equal(await openMirroredPing(self, { ...real, data: bytesToHex(utf8ToBytes('{"type":"pinG"}')) }), null);
  assert.equal(await openMirroredPing(self, { ...real, seqno: '0001020304050608' }), null);
  assert.equal(await openMirroredPing(self, { ...real, topic: 'metanode/regtest/other/1' }), null);
  // Another peer's genuine ping is not ours.
  assert.equal(await openMirroredPing(peerIdFromString(other!.peerId), real), null);
});

test('a malformed mirror answer is refused by its schema', () => {
  const ok = { data: 'ab', seqno: '0001020304050607', signature: 'cd'.repeat(64), topic };
  assert.equal(mirroredPingSchema.safeParse(ok).success, true);
  for (const bad of [{ ...ok, seqno: '01' }, { ...ok, data: 'AB' }, { ...ok, data: '' }, { ...ok, signature: 'cd'.repeat(200) }, { ...ok, extra: 1 }]) {
    assert.equal(mirroredPingSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('the mirror keeps the newest ping per peer and forgets a dropped peer', () => {
  const m = new PingMirror();
  const msg = (seq: bigint, data: string) => ({ type: 'signed', data: utf8ToBytes(data), sequenceNumber: seq, signature: new Uint8Array(64), topic }) as unknown as SignedMessage;
  m.note('p', 2_000, msg(5n, 'new'));
  m.note('p', 1_000, msg(6n, 'old'));
  assert.equal(m.get('p')!.data, bytesToHex(utf8ToBytes('new')));
  assert.equal(m.get('p')!.seqno, '0000000000000005');
  m.forget('p');
  assert.equal(m.get('p'), null);
  assert.equal(m.size, 0);
});
