// Transaction checks of the devchain, modelled on Bitcoin Core's mempool acceptance: the
// context-free checks (CheckTransaction + standardness), then the checks against the coins being
// spent (amounts, maturity, signatures). Reasons are Bitcoin Core's reject strings, so that a node
// sees the same text from the devchain as from a real bitcoind behind Esplora.
import * as btc from '@scure/btc-signer';
import { secp256k1, schnorr } from '@noble/curves/secp256k1.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { classifyScript, dustThreshold, type ScriptKind } from '../network.js';

export const MAX_MONEY = 21_000_000n * 100_000_000n;
export const COINBASE_MATURITY = 100;
/** Minimum relay fee, sat/vB (Bitcoin Core's default -minrelaytxfee of 1000 sat/kvB). */
export const MIN_RELAY_FEE_RATE = 1;
const MAX_STANDARD_TX_WEIGHT = 400_000;

export interface ParsedInput {
  txid: string; // display order
  vout: number;
  sequence: number;
  scriptSig: Uint8Array;
  witness: Uint8Array[];
}
export interface ParsedOutput {
  value: bigint;
  script: Uint8Array;
  kind: ScriptKind;
}
export interface ParsedTx {
  txid: string;
  hex: string;
  version: number;
  lockTime: number;
  inputs: ParsedInput[];
  outputs: ParsedOutput[];
  size: number;
  weight: number;
  vsize: number;
  tx: btc.Transaction;
}
export interface Coin {
  value: bigint;
  script: Uint8Array;
  /** Height of the block that created it; undefined while in the mempool. */
  height?: number;
  coinbase: boolean;
}

export class TxReject extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TxReject';
  }
}

const NULL_TXID = '0'.repeat(64);
const PARSE_OPTS = { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true, allowUnknownVersion: true } as const;

/** Decodes a raw transaction; 'TX decode failed' unless it re-serializes to exactly the same bytes. */
export function parseTx(hex: string): ParsedTx {
  if (typeof hex !== 'string' || hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new TxReject('TX decode failed');
  }
  let tx: btc.Transaction;
  const raw = hexToBytes(hex);
  try {
    tx = btc.Transaction.fromRaw(raw, PARSE_OPTS);
  } catch {
    throw new TxReject('TX decode failed');
  }
  if (bytesToHex(tx.toBytes(true, true)) !== hex.toLowerCase()) throw new TxReject('TX decode failed');
  const inputs: ParsedInput[] = [];
  for (let i = 0; i < tx.inputsLength; i++) {
    const inp = tx.getInput(i);
    inputs.push({
      txid: bytesToHex(inp.txid!),
      vout: inp.index!,
      sequence: inp.sequence ?? 0xffffffff,
      scriptSig: inp.finalScriptSig ?? new Uint8Array(0),
      witness: inp.finalScriptWitness ?? [],
    });
  }
  const outputs: ParsedOutput[] = [];
  for (let i = 0; i < tx.outputsLength; i++) {
    const o = tx.getOutput(i);
    outputs.push({ value: o.amount!, script: o.script!, kind: classifyScript(o.script!) });
  }
  return {
    txid: tx.id,
    hex: hex.toLowerCase(),
    version: tx.version,
    lockTime: tx.lockTime,
    inputs,
    outputs,
    size: raw.length,
    weight: tx.weight,
    vsize: tx.vsize,
    tx,
  };
}

export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

/** CheckTransaction plus IsStandardTx: everything that does not depend on the chain. */
export function checkTxContextFree(p: ParsedTx): void {
  if (p.inputs.length === 0) throw new TxReject('bad-txns-vin-empty');
  if (p.outputs.length === 0) throw new TxReject('bad-txns-vout-empty');
  if (p.version < 1 || p.version > 3) throw new TxReject('version');
  if (p.weight > MAX_STANDARD_TX_WEIGHT) throw new TxReject('tx-size');
  let total = 0n;
  for (const o of p.outputs) {
    if (o.value < 0n) throw new TxReject('bad-txns-vout-negative');
    if (o.value > MAX_MONEY) throw new TxReject('bad-txns-vout-toolarge');
    total += o.value;
    if (total > MAX_MONEY) throw new TxReject('bad-txns-txouttotal-toolarge');
  }
  const seen = new Set<string>();
  for (const i of p.inputs) {
    const k = outpointKey(i.txid, i.vout);
    if (seen.has(k)) throw new TxReject('bad-txns-inputs-duplicate');
    seen.add(k);
    if (i.txid === NULL_TXID && i.vout === 0xffffffff) throw new TxReject('bad-txns-prevout-null');
  }
  let nulldata = 0;
  for (const o of p.outputs) {
    if (o.kind === 'nonstandard') throw new TxReject('scriptpubkey');
    if (o.kind === 'nulldata') nulldata++;
    else if (o.value < dustThreshold(o.kind)) throw new TxReject('dust');
  }
  if (nulldata > 1) throw new TxReject('multi-op-return');
  if (p.tx.toBytes(true, false).length < 65) throw new TxReject('tx-size-small');
}

/**
 * Checks against the coins spent (one per input, same order): maturity, amounts, fee, locktime
 * and every input's signature. Spends the devchain can verify: P2WPKH (BIP143, ECDSA, low S) and
 * P2TR key path (BIP341, Schnorr). Anything else is refused rather than accepted unverified.
 */
export function checkTxInputs(p: ParsedTx, coins: Coin[], ctx: { nextHeight: number; medianTimePast: number }): bigint {
  let inSum = 0n;
  for (const c of coins) {
    if (c.coinbase && c.height !== undefined && ctx.nextHeight - c.height < COINBASE_MATURITY) {
      throw new TxReject('bad-txns-premature-spend-of-coinbase');
    }
    inSum += c.value;
    if (c.value < 0n || inSum > MAX_MONEY) throw new TxReject('bad-txns-inputvalues-outofrange');
  }
  const outSum = p.outputs.reduce((a, o) => a + o.value, 0n);
  if (inSum < outSum) throw new TxReject('bad-txns-in-belowout');
  const fee = inSum - outSum;
  if (fee < BigInt(p.vsize * MIN_RELAY_FEE_RATE)) throw new TxReject('min relay fee not met');
  if (!isFinal(p, ctx)) throw new TxReject('non-final');
  const prevScripts = coins.map((c) => c.script);
  const amounts = coins.map((c) => c.value);
  p.inputs.forEach((inp, idx) => verifyInput(p, idx, inp, coins[idx], prevScripts, amounts));
  return fee;
}

function isFinal(p: ParsedTx, ctx: { nextHeight: number; medianTimePast: number }): boolean {
  if (p.lockTime === 0) return true;
  if (p.inputs.every((i) => i.sequence === 0xffffffff)) return true;
  return p.lockTime < 500_000_000 ? p.lockTime < ctx.nextHeight : p.lockTime < ctx.medianTimePast;
}

const SCHNORR_FAIL = 'mandatory-script-verify-flag-failed (Invalid Schnorr signature)';
const ECDSA_FAIL = 'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)';

function verifyInput(p: ParsedTx, idx: number, inp: ParsedInput, coin: Coin, prevScripts: Uint8Array[], amounts: bigint[]): void {
  const kind = classifyScript(coin.script);
  if (kind === 'p2wpkh' || kind === 'p2tr') {
    if (inp.scriptSig.length !== 0) throw new TxReject('mandatory-script-verify-flag-failed (Witness requires empty scriptSig)');
  }
  if (kind === 'p2wpkh') {
    if (inp.witness.length !== 2) throw new TxReject('mandatory-script-verify-flag-failed (Witness program hash mismatch)');
    const [sigFull, pub] = inp.witness;
    if (pub.length !== 33 || (pub[0] !== 2 && pub[0] !== 3)) {
      throw new TxReject('non-mandatory-script-verify-flag (Using non-compressed keys in segwit)');
    }
    const program = coin.script.subarray(2);
    if (bytesToHex(ripemd160(sha256(pub))) !== bytesToHex(program)) {
      throw new TxReject('mandatory-script-verify-flag-failed (Witness program hash mismatch)');
    }
    if (sigFull.length < 9) throw new TxReject(ECDSA_FAIL);
    const hashType = sigFull[sigFull.length - 1];
    const base = hashType & 0x7f;
    if (base < 1 || base > 3) throw new TxReject('non-mandatory-script-verify-flag (Signature hash type missing or not understood)');
    const pkh = btc.OutScript.encode({ type: 'pkh', hash: program });
    const msg = p.tx.preimageWitnessV0(idx, pkh, hashType, coin.value);
    let ok = false;
    try {
      ok = secp256k1.verify(sigFull.subarray(0, -1), msg, pub, { prehash: false, format: 'der', lowS: true });
    } catch {
      ok = false;
    }
    if (!ok) throw new TxReject(ECDSA_FAIL);
    return;
  }
  if (kind === 'p2tr') {
    if (inp.witness.length === 0) throw new TxReject('mandatory-script-verify-flag-failed (Witness program was passed an empty witness)');
    if (inp.witness.length >= 2 && inp.witness[inp.witness.length - 1][0] === 0x50) {
      throw new TxReject('non-mandatory-script-verify-flag (annex is non-standard)');
    }
    if (inp.witness.length !== 1) throw new TxReject('non-mandatory-script-verify-flag (devchain verifies Taproot key-path spends only)');
    const sig = inp.witness[0];
    let hashType = 0;
    if (sig.length === 65) {
      hashType = sig[64];
      if (hashType === 0x00) throw new TxReject('mandatory-script-verify-flag-failed (Invalid Schnorr signature hash type)');
    } else if (sig.length !== 64) throw new TxReject('mandatory-script-verify-flag-failed (Invalid Schnorr signature size)');
    if (![0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83].includes(hashType)) {
      throw new TxReject('mandatory-script-verify-flag-failed (Invalid Schnorr signature hash type)');
    }
    if ((hashType & 0x03) === 0x03 && idx >= p.outputs.length) {
      throw new TxReject('mandatory-script-verify-flag-failed (Invalid Schnorr signature hash type)');
    }
    const msg = p.tx.preimageWitnessV1(idx, prevScripts, hashType, amounts);
    let ok = false;
    try {
      ok = schnorr.verify(sig.subarray(0, 64), msg, coin.script.subarray(2));
    } catch {
      ok = false;
    }
    if (!ok) throw new TxReject(SCHNORR_FAIL);
    return;
  }
  throw new TxReject(`non-mandatory-script-verify-flag (devchain cannot verify spends of ${kind} outputs)`);
}
