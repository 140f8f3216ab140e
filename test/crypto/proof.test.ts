import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertTssProof, createTssProof, verifyingShareOf, verifyTssProof, type TssProofContext } from '../../src/crypto/proof.js';
import { assertMetanodeError, runDkg } from './helpers.js';

describe('tss_proof', () => {
  const { key, shares, committee } = runDkg(3, 2, 4);
  const share = shares[0];
  const vs = key.verifyingShares[share.identifier];
  const ctx: TssProofContext = { network: 'regtest', epoch: 4, peerId: committee[0].peerId, round: 1234 };

  it('verifies against the member\'s verifying share in its own context', () => {
    assert.equal(verifyingShareOf(share), vs);
    const proof = createTssProof(share, ctx);
    assert.match(proof, /^[0-9a-f]{130}$/);
    assert.equal(verifyTssProof(vs, ctx, proof), true);
    assert.doesNotThrow(() => assertTssProof(vs, ctx, proof));
    // fresh randomness: two proofs for the same context differ and both verify
    const again = createTssProof(share, ctx);
    assert.notEqual(again, proof);
    assert.equal(verifyTssProof(vs, ctx, again), true);
  });

  it('is rejected when replayed into another round, epoch, peer id or network', () => {
    const proof = createTssProof(share, ctx);
    assert.equal(verifyTssProof(vs, { ...ctx, round: ctx.round + 1 }, proof), false);
    assert.equal(verifyTssProof(vs, { ...ctx, epoch: ctx.epoch + 1 }, proof), false);
    assert.equal(verifyTssProof(vs, { ...ctx, peerId: committee[1].peerId }, proof), false);
    assert.equal(verifyTssProof(vs, { ...ctx, network: 'mainnet' }, proof), false);
    const e = assertMetanodeError(() => assertTssProof(vs, { ...ctx, round: 1 }, proof), 'INVALID_TSS_PROOF', [ctx.peerId]);
    assert.ok(e.message.includes(ctx.peerId));
  });

  it('is rejected for another member\'s verifying share and for malformed input', () => {
    const proof = createTssProof(share, ctx);
    assert.equal(verifyTssProof(key.verifyingShares[shares[1].identifier], ctx, proof), false);
    const tampered = proof.slice(0, 128) + (proof.slice(128) === '00' ? '01' : '00');
    assert.equal(verifyTssProof(vs, ctx, tampered), false);
    assert.equal(verifyTssProof(vs, ctx, 'zz'), false);
    assert.equal(verifyTssProof('02' + 'ff'.repeat(32), ctx, proof), false);
    assert.equal(verifyTssProof(vs, { ...ctx, round: -1 }, proof), false);
    // a proof made by another member cannot be passed off under this member's share
    const other = createTssProof(shares[1], ctx);
    assert.equal(verifyTssProof(vs, ctx, other), false);
  });
});
