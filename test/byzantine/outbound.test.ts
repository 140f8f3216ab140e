// The tests' misbehaviour on the wire (test/support/outbound.ts): a port in front of a node's
// outbound port that rewrites or drops messages in their final form and re-signs a changed round
// message with the node's own share.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { identifierAt } from '../../src/crypto/identifiers.js';
import type { MessageAt, OutboundPort } from '../../src/node/outbound.js';
import { MSG } from '../../src/rounds/signing/messages.js';
import { signPayload, verifyPayload } from '../../src/rounds/signing/signed.js';
import { rewritingOutbound, type Rewrite, type Signer } from '../support/outbound.js';
import { dkgKeys } from '../rounds/signing/harness.js';

const ks = dkgKeys(3);
const SELF = ks.peers[0]!;
const AT: MessageAt = { epoch: ks.key.epoch, round: 77 };
const ctxOf = (at: MessageAt) => ({ network: 'regtest' as const, epoch: at.epoch, peerId: SELF, round: at.round });
const signer: Signer = { config: { network: 'regtest' }, peerId: SELF, manager: { loadShare: async () => ks.shares[SELF]! } };
const verifying = ks.key.verifyingShares[identifierAt(0)]!;

function recorder() {
  const sent: Array<{ how: string; type: string; payload: unknown; to?: string }> = [];
  const own: OutboundPort = {
    publish: async (type, payload) => void sent.push({ how: 'gossip', type, payload }),
    sendDirect: async (to, type, payload) => void sent.push({ how: 'direct', type, payload, to }),
  };
  return { sent, own };
}

const signed = <T extends object>(body: T) => signPayload(ks.shares[SELF]!, ctxOf(AT), MSG.proposal, body);
const proposal = { h0: 'aa'.repeat(32), h1: 'bb'.repeat(32), tssProof: 'cc'.repeat(65) };

describe('rewriting outbound port', () => {
  it('without a rewrite, and for a rewrite returning the same payload, sends it unchanged', async () => {
    const { sent, own } = recorder();
    let rewrite: Rewrite | undefined;
    const port = rewritingOutbound(own, () => rewrite, () => signer);
    const p = signed(proposal);
    await port.publish(MSG.proposal, p, AT);
    rewrite = (_t, payload) => payload;
    await port.sendDirect('peerB', 'keygen.round2', { signingShare: '01' }, AT);
    assert.equal(sent[0]!.payload, p);
    assert.deepEqual(sent[1], { how: 'direct', type: 'keygen.round2', payload: { signingShare: '01' }, to: 'peerB' });
  });

  it('a changed round message goes out signed again by the node: the new body verifies, the old signature does not', async () => {
    const { sent, own } = recorder();
    const port = rewritingOutbound(own, () => (_t, payload) => ({ ...(payload as object), h0: 'dd'.repeat(32) }), () => signer);
    const original = signed(proposal);
    await port.publish(MSG.proposal, original, AT);
    const out = sent[0]!.payload as typeof original;
    assert.equal(out.h0, 'dd'.repeat(32));
    assert.notEqual(out.sig, original.sig);
    assert.ok(verifyPayload(verifying, ctxOf(AT), MSG.proposal, out), 'the rewritten body carries the node\'s own valid signature');
    assert.ok(!verifyPayload(verifying, ctxOf(AT), MSG.proposal, { ...out, sig: original.sig }));
  });

  it('a changed ceremony payload is sent as changed, with no signature added', async () => {
    const { sent, own } = recorder();
    const port = rewritingOutbound(own, () => (_t, payload) => ({ ...(payload as object), signingShare: '02' }), () => signer);
    await port.sendDirect('peerB', 'keygen.round2', { signingShare: '01' }, AT);
    assert.deepEqual(sent[0]!.payload, { signingShare: '02' });
  });

  it('null drops the message; the rewrite sees the recipient and the (epoch, round)', async () => {
    const { sent, own } = recorder();
    const seen: Array<[string, string | undefined, MessageAt]> = [];
    const port = rewritingOutbound(own, () => (type, payload, to, at) => (seen.push([type, to, at]), type === MSG.share ? null : payload), () => signer);
    await port.publish(MSG.share, { attempt: 1, shares: [] }, AT);
    await port.sendDirect('peerC', 'regroup.subshare', { subShare: '03' }, AT);
    assert.deepEqual(sent.map((m) => m.type), ['regroup.subshare']);
    assert.deepEqual(seen, [[MSG.share, undefined, AT], ['regroup.subshare', 'peerC', AT]]);
  });

  it('keeps the sending order when a re-signed message is followed by an unchanged one', async () => {
    const { sent, own } = recorder();
    const port = rewritingOutbound(own, () => (type, payload) => (type === MSG.proposal ? { ...(payload as object), h1: 'ee'.repeat(32) } : payload), () => signer);
    await Promise.all([port.publish(MSG.proposal, signed(proposal), AT), port.publish('ping', { status: 'ok' }, AT)]);
    assert.deepEqual(sent.map((m) => m.type), [MSG.proposal, 'ping']);
  });

  it('a round message rewritten before the node runs is not sent, and the send fails saying why', async () => {
    const { sent, own } = recorder();
    const port = rewritingOutbound(own, () => (_t, payload) => ({ ...(payload as object), h0: 'dd'.repeat(32) }), () => undefined);
    await assert.rejects(port.publish(MSG.proposal, signed(proposal), AT), /rewritten before the node was running/);
    assert.equal(sent.length, 0);
  });
});
