// The simulated chain: every UTXO the scenario funded (vault outputs and deposits) and every
// transaction a node broadcast. Each broadcast is checked on arrival, independently of the node
// that sent it: every input spends a known output with a valid BIP340 key-path signature (noble,
// sighash recomputed from the prevouts), no outpoint and no transfer appears in two different
// transactions, and every output to a request's destination belongs to a request funded in it.
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';

export interface Prevout {
  script: string;
  value: bigint;
}

export interface Broadcast {
  txid: string;
  by: string[];
  inputs: string[];
  transferIds: string[];
  at: number;
}

export class SimChain {
  readonly utxos = new Map<string, Prevout>();
  /** Request id by its destination script, and deposit outpoint -> request id. */
  readonly destinations = new Map<string, string>();
  readonly depositOf = new Map<string, string>();
  readonly txs = new Map<string, Broadcast>();

  fund(outpoint: string, p: Prevout, requestId?: string): void {
    this.utxos.set(outpoint, p);
    if (requestId) this.depositOf.set(outpoint, requestId);
  }

  /** Records a broadcast; returns the problems found with it (empty = fine). */
  broadcast(by: string, hex: string, at: number): { txid: string | null; problems: string[] } {
    const problems: string[] = [];
    let tx: Transaction;
    try {
      tx = Transaction.fromRaw(hexToBytes(hex), { allowUnknownOutputs: true, allowUnknownInputs: true });
    } catch (e) {
      return { txid: null, problems: [`undecodable transaction from ${by}: ${(e as Error).message}`] };
    }
    const txid = tx.id;
    const seen = this.txs.get(txid);
    if (seen) {
      if (!seen.by.includes(by)) seen.by.push(by);
      return { txid, problems };
    }
    const inputs: string[] = [];
    const prevouts: Prevout[] = [];
    for (let i = 0; i < tx.inputsLength; i++) {
      const inp = tx.getInput(i);
      const op = `${Buffer.from(inp.txid!).toString('hex')}:${inp.index}`;
      inputs.push(op);
      const p = this.utxos.get(op);
      if (!p) problems.push(`${txid} spends unknown outpoint ${op}`);
      else prevouts.push(p);
    }
    if (prevouts.length === tx.inputsLength) {
      const scripts = prevouts.map((p) => hexToBytes(p.script));
      const amounts = prevouts.map((p) => p.value);
      for (let i = 0; i < tx.inputsLength; i++) {
        const w = tx.getInput(i).finalScriptWitness;
        const sighash = tx.preimageWitnessV1(i, scripts, 0x00, amounts);
        if (!w || w.length !== 1 || w[0]!.length !== 64 || !schnorr.verify(w[0]!, sighash, scripts[i]!.subarray(2))) problems.push(`${txid} input ${i}: no valid BIP340 signature`);
      }
    }
    const funded = new Set(inputs.map((op) => this.depositOf.get(op)).filter((r): r is string => !!r));
    for (let o = 0; o < tx.outputsLength; o++) {
      const script = Buffer.from(tx.getOutput(o).script!).toString('hex');
      const req = this.destinations.get(script);
      if (req && !funded.has(req)) problems.push(`${txid} pays request ${req}'s destination without spending its deposit`);
    }
    const transferIds = [...funded].sort();
    for (const other of this.txs.values()) {
      const dupIn = inputs.filter((op) => other.inputs.includes(op));
      if (dupIn.length) problems.push(`${txid} and ${other.txid} both spend ${dupIn.join(',')}`);
      const dupT = transferIds.filter((t) => other.transferIds.includes(t));
      if (dupT.length) problems.push(`transfer ${dupT.join(',')} paid twice: ${other.txid} and ${txid}`);
    }
    this.txs.set(txid, { txid, by: [by], inputs, transferIds, at });
    return { txid, problems };
  }
}
