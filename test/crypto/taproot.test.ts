// Taproot key-path spends of a vault output and a deposit-address output, built as a PSBT with
// bitcoinjs-lib, signed by the threshold, and checked by an independent verifier: the BIP341
// sighash from @scure/btc-signer and noble's BIP340 verify against the scriptPubKey's key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { SigHash, Transaction } from '@scure/btc-signer';
import * as bitcoin from 'bitcoinjs-lib';
import { ensureBitcoinjsEcc } from '../../src/crypto/bitcoinjs-ecc.js';
import {
  addressFromScript,
  depositAddress,
  depositTweak,
  outputKeyFor,
  scriptFromAddress,
  scriptPubKeyFor,
  vaultAddress,
} from '../../src/crypto/taproot.js';
import { assertMetanodeError, pick, runDkg, signWith } from './helpers.js';

ensureBitcoinjsEcc();

describe('taproot vault and deposit addresses', () => {
  const { key } = runDkg(3, 2, 5);

  it('vault address is the bech32m P2TR of Q for each network', () => {
    assert.match(vaultAddress(key), /^bcrt1p[02-9ac-hj-np-z]{58}$/);
    assert.match(vaultAddress({ ...key, network: 'mainnet' }), /^bc1p/);
    assert.match(vaultAddress({ ...key, network: 'testnet' }), /^tb1p/);
    assert.equal(scriptFromAddress(vaultAddress(key), 'regtest'), '5120' + key.outputKey);
  });

  it('deposit addresses: deterministic per request, distinct, equal to bitcoinjs p2tr(P, root)', () => {
    const a = depositAddress(key, 'req-1');
    assert.equal(depositAddress(key, 'req-1'), a);
    assert.notEqual(depositAddress(key, 'req-2'), a);
    assert.notEqual(a, vaultAddress(key));
    const root = depositTweak(key, 'req-1');
    const p2tr = bitcoin.payments.p2tr({ internalPubkey: hexToBytes(key.internalKey), hash: hexToBytes(root), network: bitcoin.networks.regtest });
    assert.equal(p2tr.address, a);
    assert.equal(bytesToHex(p2tr.output!), scriptPubKeyFor(key, root));
    assertMetanodeError(() => depositAddress(key, ''), 'INVALID_INPUT');
  });
});

describe('threshold key-path spend through a bitcoinjs PSBT', () => {
  const { key, shares } = runDkg(5, 4, 9);
  const requestId = 'transfer-42';
  const root = depositTweak(key, requestId);
  const prevouts = [
    { txid: '11'.repeat(32), vout: 0, script: scriptPubKeyFor(key), value: 150_000n },
    { txid: '22'.repeat(32), vout: 1, script: scriptPubKeyFor(key, root), value: 70_000n },
  ];

  it('the witness of both inputs verifies independently', () => {
    const psbt = new bitcoin.Psbt({ network: bitcoin.networks.regtest });
    psbt.addInput({ hash: prevouts[0].txid, index: 0, witnessUtxo: { script: hexToBytes(prevouts[0].script), value: prevouts[0].value }, tapInternalKey: hexToBytes(key.internalKey) });
    psbt.addInput({
      hash: prevouts[1].txid,
      index: 1,
      witnessUtxo: { script: hexToBytes(prevouts[1].script), value: prevouts[1].value },
      tapInternalKey: hexToBytes(key.internalKey),
      tapMerkleRoot: hexToBytes(root),
    });
    const payout = bitcoin.payments.p2wpkh({ hash: new Uint8Array(20).fill(7), network: bitcoin.networks.regtest }).address!;
    psbt.addOutput({ address: payout, value: 200_000n });
    psbt.addOutput({ script: hexToBytes(scriptFromAddress(vaultAddress(key), 'regtest')), value: 19_000n });

    // signer side: sighashes from the unsigned tx (SIGHASH_DEFAULT)
    const unsigned = bitcoin.Transaction.fromBuffer(psbt.data.getTransaction());
    const scripts = prevouts.map((p) => hexToBytes(p.script));
    const values = prevouts.map((p) => p.value);
    const targets = [0, 1].map((i) => ({
      message: bytesToHex(unsigned.hashForWitnessV1(i, scripts, values, bitcoin.Transaction.SIGHASH_DEFAULT)),
      tweak: i === 1 ? root : undefined,
    }));
    const sigs = signWith(key, pick(shares, 4), targets);
    psbt.updateInput(0, { tapKeySig: hexToBytes(sigs[0]) });
    psbt.updateInput(1, { tapKeySig: hexToBytes(sigs[1]) });
    psbt.finalizeAllInputs();
    const rawHex = psbt.extractTransaction().toHex();

    // independent verifier
    const tx = Transaction.fromRaw(hexToBytes(rawHex), { allowUnknownOutputs: true });
    assert.equal(tx.inputsLength, 2);
    for (let i = 0; i < 2; i++) {
      const witness = tx.getInput(i).finalScriptWitness!;
      assert.equal(witness.length, 1);
      assert.equal(witness[0].length, 64);
      const sighash = tx.preimageWitnessV1(i, scripts, SigHash.DEFAULT, values);
      assert.equal(bytesToHex(sighash), targets[i].message);
      const spk = scripts[i];
      assert.equal(spk[0], 0x51);
      assert.equal(spk[1], 0x20);
      assert.ok(schnorr.verify(witness[0], sighash, spk.subarray(2)), `input ${i} signature`);
    }
    // the deposit input was not signed by the plain vault key, and vice versa
    assert.equal(schnorr.verify(hexToBytes(sigs[1]), hexToBytes(targets[1].message), hexToBytes(key.outputKey)), false);
    assert.equal(schnorr.verify(hexToBytes(sigs[0]), hexToBytes(targets[0].message), hexToBytes(outputKeyFor(key, root))), false);
    assert.equal(addressFromScript(prevouts[1].script, 'regtest'), depositAddress(key, requestId));
  });
});
