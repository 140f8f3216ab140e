// Test-only single-key wallets (P2WPKH and P2TR key path) that build and sign spends with
// @scure/btc-signer, the way an operator's own wallet would.
import * as btc from '@scure/btc-signer';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { btcNetwork } from '../../src/chain/network.js';

const NET = btcNetwork('regtest');

export interface TestKey {
  kind: 'p2wpkh' | 'p2tr';
  priv: Uint8Array;
  address: string;
  script: Uint8Array;
  internal?: Uint8Array;
}

export function p2wpkhKey(seed: number): TestKey {
  const priv = new Uint8Array(32).fill(seed);
  const pay = btc.p2wpkh(secp256k1.getPublicKey(priv, true), NET);
  return { kind: 'p2wpkh', priv, address: pay.address!, script: pay.script };
}

export function p2trKey(seed: number): TestKey {
  const priv = new Uint8Array(32).fill(seed);
  const internal = schnorr.getPublicKey(priv);
  const pay = btc.p2tr(internal, undefined, NET);
  return { kind: 'p2tr', priv, address: pay.address!, script: pay.script, internal };
}

export interface Spendable {
  txid: string;
  vout: number;
  value: bigint;
  key: TestKey;
}

/** Signs a transaction spending `inputs` to `outputs` ({address|script, value}). */
export function spend(
  inputs: Spendable[],
  outputs: { address?: string; script?: Uint8Array; value: bigint }[],
  opts: { sighash?: number; claimValue?: bigint; mutateWitness?: (w: Uint8Array[][]) => void } = {},
): { hex: string; txid: string } {
  const tx = new btc.Transaction({ allowUnknownOutputs: true, ...(opts.sighash !== undefined ? { allowLegacyWitnessUtxo: false } : {}) });
  for (const i of inputs) {
    tx.addInput({
      txid: hexToBytes(i.txid),
      index: i.vout,
      witnessUtxo: { amount: opts.claimValue ?? i.value, script: i.key.script },
      ...(i.key.internal ? { tapInternalKey: i.key.internal } : {}),
      ...(opts.sighash !== undefined ? { sighashType: opts.sighash } : {}),
    });
  }
  for (const o of outputs) {
    if (o.address) tx.addOutputAddress(o.address, o.value, NET);
    else tx.addOutput({ script: o.script!, amount: o.value });
  }
  inputs.forEach((i, idx) => tx.signIdx(i.key.priv, idx, opts.sighash !== undefined ? [opts.sighash] : undefined));
  if (opts.claimValue === undefined) tx.finalize();
  else inputs.forEach((_i, idx) => tx.finalizeIdx(idx));
  let raw = tx.extract();
  if (opts.mutateWitness) {
    const decoded = btc.RawTx.decode(raw);
    opts.mutateWitness(decoded.witnesses!);
    raw = btc.RawTx.encode(decoded);
  }
  return { hex: bytesToHex(raw), txid: tx.id };
}
