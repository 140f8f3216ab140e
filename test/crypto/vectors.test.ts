// Published vectors: BIP340 (all rows) against noble's schnorr as used by verifyBip340, and the
// BIP341 wallet vectors' scriptPubKey section against the Taproot helpers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { verifyBip340 } from '../../src/crypto/signing.js';
import { addressFromScript, scriptFromAddress, taprootOutputKey, tapTweakScalar } from '../../src/crypto/taproot.js';

const VECTORS = resolve(process.cwd(), '../shared/vectors');

describe('BIP340 test vectors', () => {
  const lines = readFileSync(resolve(VECTORS, 'bip340-test-vectors.csv'), 'utf8').trim().split(/\r?\n/);
  const rows = lines.slice(1).map((l) => l.split(','));

  it('has every row of the published file', () => {
    assert.ok(rows.length >= 19, `only ${rows.length} rows`);
  });

  for (const [index, sk, pk, aux, msg, sig, result, comment] of rows) {
    it(`row ${index}: ${result}${comment ? ' (' + comment + ')' : ''}`, () => {
      const m = msg.toLowerCase();
      if (sk) {
        const made = schnorr.sign(hexToBytes(m), hexToBytes(sk.toLowerCase()), hexToBytes(aux.toLowerCase()));
        assert.equal(bytesToHex(made), sig.toLowerCase());
        assert.equal(bytesToHex(schnorr.getPublicKey(hexToBytes(sk.toLowerCase()))), pk.toLowerCase());
      }
      assert.equal(verifyBip340(sig.toLowerCase(), m, pk.toLowerCase()), result === 'TRUE');
    });
  }
});

describe('BIP341 wallet vectors: scriptPubKey', () => {
  const data = JSON.parse(readFileSync(resolve(VECTORS, 'bip341-wallet-test-vectors.json'), 'utf8')) as {
    scriptPubKey: {
      given: { internalPubkey: string };
      intermediary: { merkleRoot: string | null; tweak: string; tweakedPubkey: string };
      expected: { scriptPubKey: string; bip350Address: string };
    }[];
  };

  it('has the published cases', () => assert.equal(data.scriptPubKey.length, 7));

  data.scriptPubKey.forEach((v, i) => {
    it(`case ${i}: internal key + merkle root -> output key, script, address`, () => {
      const root = v.intermediary.merkleRoot ?? '';
      assert.equal(tapTweakScalar(v.given.internalPubkey, root).toString(16).padStart(64, '0'), v.intermediary.tweak);
      const { outputKey } = taprootOutputKey(v.given.internalPubkey, root);
      assert.equal(outputKey, v.intermediary.tweakedPubkey);
      assert.equal('5120' + outputKey, v.expected.scriptPubKey);
      assert.equal(addressFromScript(v.expected.scriptPubKey, 'mainnet'), v.expected.bip350Address);
      assert.equal(scriptFromAddress(v.expected.bip350Address, 'mainnet'), v.expected.scriptPubKey);
      assert.throws(() => scriptFromAddress(v.expected.bip350Address, 'testnet'), /INVALID_INPUT/);
    });
  });
});
