// Checks an adapter applies to what a chain source returns before believing it: raw transactions
// must hash to the txid asked for, headers to the block hash asked for.
import * as btc from '@scure/btc-signer';
import { hexToBytes } from '@noble/hashes/utils.js';
import { MetanodeError } from '../util/errors.js';
import { decodeHeader } from './devchain/blocks.js';
import { scriptToAddress } from './network.js';
import type { Network, TxOutput } from './types.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const HEX64 = /^[0-9a-f]{64}$/;
const PARSE_OPTS = { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true, allowUnknownVersion: true } as const;

export function assertTxid(txid: string, what = 'txid'): void {
  if (typeof txid !== 'string' || !HEX64.test(txid)) throw new MetanodeError('INVALID_INPUT', `${what} must be 64 lowercase hex characters`);
}

/** Parses raw tx hex; throws `code` unless it decodes canonically. */
export function decodeTx(hex: string, code: 'CHAIN_BAD_RESPONSE' | 'INVALID_INPUT', what: string): btc.Transaction {
  if (typeof hex !== 'string' || hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new MetanodeError(code, `${what}: not a hex transaction`);
  }
  try {
    const tx = btc.Transaction.fromRaw(hexToBytes(hex), PARSE_OPTS);
    if (bytesToHex(tx.toBytes(true, true)) !== hex.toLowerCase()) throw new Error('non-canonical');
    return tx;
  } catch {
    throw new MetanodeError(code, `${what}: transaction does not decode`);
  }
}

/** Decodes a returned raw transaction and insists it is the one requested. */
export function verifiedTx(hex: string, txid: string, network: Network, source: string): { hex: string; vout: TxOutput[] } {
  const tx = decodeTx(hex.trim(), 'CHAIN_BAD_RESPONSE', `${source} tx ${txid}`);
  if (tx.id !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${source} returned transaction ${tx.id} when asked for ${txid}`);
  const vout: TxOutput[] = [];
  for (let i = 0; i < tx.outputsLength; i++) {
    const o = tx.getOutput(i);
    const scriptPubKey = bytesToHex(o.script!);
    const address = scriptToAddress(scriptPubKey, network);
    vout.push({ value: o.amount!, scriptPubKey, ...(address ? { address } : {}) });
  }
  return { hex: hex.trim().toLowerCase(), vout };
}

/** Decodes an 80-byte header and insists it hashes to `hash`. */
export function verifiedHeader(headerHex: string, hash: string, source: string): { prevHash: string; time: number; merkleRoot: string } {
  const h = headerHex.trim();
  if (!/^[0-9a-fA-F]{160}$/.test(h)) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${source}: header of ${hash} is not 80 bytes of hex`);
  const d = decodeHeader(hexToBytes(h));
  if (d.hash !== hash) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${source}: header hashes to ${d.hash}, not the requested ${hash}`);
  return { prevHash: d.prevHash, time: d.time, merkleRoot: d.merkleRoot };
}

export function txidOf(hex: string): string {
  return decodeTx(hex, 'INVALID_INPUT', 'broadcast').id;
}
