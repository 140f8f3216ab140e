// Reads the whole devchain after a chaos run and checks every confirmed transaction on its own
// (scure's sighashes, noble's signature checks; nothing from src/chain): it hashes to its txid,
// spends only outputs that exist earlier in the chain, spends none of them twice, does not create
// value, and every P2TR key-path and P2WPKH input carries a valid signature. It also indexes the
// confirmed outputs by script, so payouts can be counted.
import * as btc from '@scure/btc-signer';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

export interface ChainOutput {
  txid: string;
  vout: number;
  value: bigint;
  script: string;
  height: number;
}

export interface ChainAudit {
  tip: number;
  blocks: number;
  txs: number;
  /** Transactions with a null prevout (coinbase, devchain faucet): nothing to verify. */
  nullInputTxs: number;
  inputsVerified: { p2tr: number; p2wpkh: number };
  /** Invalid transactions (with the reason). */
  invalid: string[];
  /** Outpoints spent by two confirmed transactions. */
  doubleSpends: string[];
  outputsByScript: Map<string, ChainOutput[]>;
  spentBy: Map<string, string>;
  txHeight: Map<string, number>;
}

const PARSE = { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true, allowUnknownVersion: true } as const;
const NULL_TXID = '00'.repeat(32);

async function get(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const t = await r.text();
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${t.slice(0, 100)}`);
  return t;
}

/** Why input `i` does not verify, or null when it does. */
export function inputProblem(tx: btc.Transaction, i: number, prevScripts: Uint8Array[], amounts: bigint[]): { kind: 'p2tr' | 'p2wpkh'; problem: string | null } | { kind: 'other'; problem: string } {
  const script = prevScripts[i]!;
  const inp = tx.getInput(i);
  const witness = inp.finalScriptWitness ?? [];
  if (script.length === 34 && script[0] === 0x51 && script[1] === 0x20) {
    if (witness.length !== 1) return { kind: 'p2tr', problem: `P2TR input with ${witness.length} witness items (key path expected)` };
    const sig = witness[0]!;
    if (sig.length !== 64 && sig.length !== 65) return { kind: 'p2tr', problem: `P2TR signature of ${sig.length} bytes` };
    const hashType = sig.length === 65 ? sig[64]! : btc.SigHash.DEFAULT;
    const msg = tx.preimageWitnessV1(i, prevScripts, hashType, amounts);
    return { kind: 'p2tr', problem: schnorr.verify(sig.subarray(0, 64), msg, script.subarray(2)) ? null : 'BIP340 signature does not verify' };
  }
  if (script.length === 22 && script[0] === 0x00 && script[1] === 0x14) {
    if (witness.length !== 2) return { kind: 'p2wpkh', problem: `P2WPKH input with ${witness.length} witness items` };
    const [sigFull, pub] = witness as [Uint8Array, Uint8Array];
    if (bytesToHex(ripemd160(sha256(pub))) !== bytesToHex(script.subarray(2))) return { kind: 'p2wpkh', problem: 'public key does not hash to the witness program' };
    const hashType = sigFull[sigFull.length - 1]!;
    const msg = tx.preimageWitnessV0(i, btc.OutScript.encode({ type: 'pkh', hash: script.subarray(2) }), hashType, amounts[i]!);
    let ok = false;
    try {
      ok = secp256k1.verify(sigFull.subarray(0, -1), msg, pub, { prehash: false, format: 'der', lowS: true });
    } catch {
      ok = false;
    }
    return { kind: 'p2wpkh', problem: ok ? null : 'ECDSA signature does not verify' };
  }
  return { kind: 'other', problem: `spends a ${bytesToHex(script).slice(0, 8)}… output the audit cannot verify` };
}

export async function auditChain(baseUrl: string): Promise<ChainAudit> {
  const tip = Number(await get(`${baseUrl}/blocks/tip/height`));
  const a: ChainAudit = {
    tip,
    blocks: 0,
    txs: 0,
    nullInputTxs: 0,
    inputsVerified: { p2tr: 0, p2wpkh: 0 },
    invalid: [],
    doubleSpends: [],
    outputsByScript: new Map(),
    spentBy: new Map(),
    txHeight: new Map(),
  };
  const outputs = new Map<string, { script: Uint8Array; value: bigint }>();
  for (let h = 0; h <= tip; h++) {
    const hash = (await get(`${baseUrl}/block-height/${h}`)).trim();
    const txids = JSON.parse(await get(`${baseUrl}/block/${hash}/txids`)) as string[];
    a.blocks++;
    for (const txid of txids) {
      a.txs++;
      a.txHeight.set(txid, h);
      const hex = (await get(`${baseUrl}/tx/${txid}/hex`)).trim();
      let tx: btc.Transaction;
      try {
        tx = btc.Transaction.fromRaw(hexToBytes(hex), PARSE);
      } catch (e) {
        a.invalid.push(`${txid} (height ${h}): does not decode: ${(e as Error).message}`);
        continue;
      }
      if (tx.id !== txid) {
        a.invalid.push(`${txid} (height ${h}): hex hashes to ${tx.id}`);
        continue;
      }
      const prevScripts: Uint8Array[] = [];
      const amounts: bigint[] = [];
      let nullInput = false;
      let missing = false;
      for (let i = 0; i < tx.inputsLength; i++) {
        const inp = tx.getInput(i);
        const prev = `${bytesToHex(inp.txid!)}:${inp.index}`;
        if (bytesToHex(inp.txid!) === NULL_TXID && inp.index === 0xffffffff) {
          nullInput = true;
          continue;
        }
        const coin = outputs.get(prev);
        if (!coin) {
          a.invalid.push(`${txid} (height ${h}): input ${i} spends ${prev}, which no earlier confirmed transaction created`);
          missing = true;
          continue;
        }
        const before = a.spentBy.get(prev);
        if (before) a.doubleSpends.push(`${prev} spent by ${before} and by ${txid}`);
        else a.spentBy.set(prev, txid);
        prevScripts.push(coin.script);
        amounts.push(coin.value);
      }
      if (nullInput && tx.inputsLength !== 1) a.invalid.push(`${txid}: a null prevout among other inputs`);
      if (nullInput) a.nullInputTxs++;
      let outSum = 0n;
      for (let o = 0; o < tx.outputsLength; o++) {
        const out = tx.getOutput(o);
        const script = bytesToHex(out.script!);
        outSum += out.amount!;
        outputs.set(`${txid}:${o}`, { script: out.script!, value: out.amount! });
        const list = a.outputsByScript.get(script) ?? [];
        list.push({ txid, vout: o, value: out.amount!, script, height: h });
        a.outputsByScript.set(script, list);
      }
      if (nullInput || missing) continue;
      const inSum = amounts.reduce((x, y) => x + y, 0n);
      if (outSum > inSum) a.invalid.push(`${txid} (height ${h}): outputs ${outSum} exceed inputs ${inSum}`);
      for (let i = 0; i < tx.inputsLength; i++) {
        const r = inputProblem(tx, i, prevScripts, amounts);
        if (r.problem) a.invalid.push(`${txid} (height ${h}): input ${i}: ${r.problem}`);
        else if (r.kind !== 'other') a.inputsVerified[r.kind]++;
      }
    }
  }
  return a;
}
