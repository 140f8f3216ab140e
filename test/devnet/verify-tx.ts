// Independent check of a custody transaction from the devnet summary: every input is a key-path
// Taproot spend whose BIP340 signature verifies against the key in the output it spends
// (scure's BIP341 sighash, noble's schnorr.verify; nothing from src/).
import * as btc from '@scure/btc-signer';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';

export interface SummaryTx {
  txid: string;
  hex: string;
  prevouts: { scriptPubKey: string; valueSats: number }[];
}

/** Throws naming the first input that does not verify; returns the number of inputs checked. */
export function verifyTaprootKeySpends(t: SummaryTx): number {
  const tx = btc.Transaction.fromRaw(hexToBytes(t.hex), { allowUnknownOutputs: true, allowUnknownInputs: true });
  if (tx.id !== t.txid) throw new Error(`hex hashes to ${tx.id}, not ${t.txid}`);
  if (tx.inputsLength !== t.prevouts.length) throw new Error(`${tx.inputsLength} inputs but ${t.prevouts.length} prevouts`);
  const scripts = t.prevouts.map((p) => hexToBytes(p.scriptPubKey));
  const amounts = t.prevouts.map((p) => BigInt(p.valueSats));
  for (let i = 0; i < tx.inputsLength; i++) {
    const script = scripts[i]!;
    if (script.length !== 34 || script[0] !== 0x51 || script[1] !== 0x20) throw new Error(`input ${i}: prevout ${bytesToHex(script)} is not P2TR`);
    const witness = tx.getInput(i).finalScriptWitness;
    if (!witness || witness.length !== 1) throw new Error(`input ${i}: expected a single-element key-path witness`);
    const sig = witness[0]!;
    if (sig.length !== 64 && sig.length !== 65) throw new Error(`input ${i}: signature of ${sig.length} bytes`);
    const hashType = sig.length === 65 ? sig[64]! : btc.SigHash.DEFAULT;
    const msg = tx.preimageWitnessV1(i, scripts, hashType, amounts);
    if (!schnorr.verify(sig.subarray(0, 64), msg, script.subarray(2))) throw new Error(`input ${i}: BIP340 signature does not verify`);
  }
  return tx.inputsLength;
}
