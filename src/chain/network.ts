// Address <-> scriptPubKey for each network, and the script classification the devchain and the
// adapters share. Classification is by exact byte pattern (the standard templates), nothing fuzzy.
import * as btc from '@scure/btc-signer';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { MetanodeError } from '../util/errors.js';
import type { Network } from './types.js';

export type BtcNetwork = typeof btc.NETWORK;

const REGTEST: BtcNetwork = { ...btc.TEST_NETWORK, bech32: 'bcrt' };

export function btcNetwork(network: Network): BtcNetwork {
  switch (network) {
    case 'mainnet':
      return btc.NETWORK;
    case 'testnet':
    case 'signet':
      return btc.TEST_NETWORK;
    case 'regtest':
      return REGTEST;
  }
}

/** scriptPubKey hex for an address of `network`; INVALID_INPUT naming the address otherwise. */
export function addressToScript(address: string, network: Network): string {
  try {
    return bytesToHex(btc.OutScript.encode(btc.Address(btcNetwork(network)).decode(address)));
  } catch (e) {
    throw new MetanodeError('INVALID_INPUT', `not a valid ${network} address: ${JSON.stringify(address)}`);
  }
}

/** Address for a standard scriptPubKey, undefined for OP_RETURN and non-standard scripts. */
export function scriptToAddress(scriptHex: string, network: Network): string | undefined {
  const kind = classifyScript(hexToBytes(scriptHex));
  if (kind === 'nulldata' || kind === 'nonstandard') return undefined;
  try {
    return btc.Address(btcNetwork(network)).encode(btc.OutScript.decode(hexToBytes(scriptHex)));
  } catch {
    return undefined;
  }
}

export type ScriptKind = 'p2tr' | 'p2wpkh' | 'p2wsh' | 'p2pkh' | 'p2sh' | 'nulldata' | 'nonstandard';

/** Largest OP_RETURN scriptPubKey relayed (Bitcoin Core's -datacarriersize default, 83 bytes). */
export const MAX_OP_RETURN_SCRIPT = 83;

export function classifyScript(s: Uint8Array): ScriptKind {
  const n = s.length;
  if (n === 34 && s[0] === 0x51 && s[1] === 0x20) return 'p2tr';
  if (n === 22 && s[0] === 0x00 && s[1] === 0x14) return 'p2wpkh';
  if (n === 34 && s[0] === 0x00 && s[1] === 0x20) return 'p2wsh';
  if (n === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac) return 'p2pkh';
  if (n === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return 'p2sh';
  if (n >= 1 && n <= MAX_OP_RETURN_SCRIPT && s[0] === 0x6a && parsePushes(s.subarray(1)) !== null) return 'nulldata';
  return 'nonstandard';
}

/** Data pushed by a push-only script, or null if it contains anything but pushes. */
export function parsePushes(s: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < s.length) {
    const op = s[i++];
    let len: number;
    if (op === 0x00) len = 0;
    else if (op >= 0x01 && op <= 0x4b) len = op;
    else if (op === 0x4c) {
      if (i + 1 > s.length) return null;
      len = s[i];
      i += 1;
    } else if (op === 0x4d) {
      if (i + 2 > s.length) return null;
      len = s[i] | (s[i + 1] << 8);
      i += 2;
    } else if (op === 0x4f || (op >= 0x51 && op <= 0x60)) {
      out.push(new Uint8Array([op === 0x4f ? 0x81 : op - 0x50]));
      continue;
    } else return null;
    if (i + len > s.length) return null;
    out.push(s.subarray(i, i + len));
    i += len;
  }
  return out;
}

/** Bitcoin Core's dust threshold at the default 3 sat/vB dust relay fee. */
export function dustThreshold(kind: ScriptKind): bigint {
  switch (kind) {
    case 'p2wpkh':
      return 294n;
    case 'p2tr':
    case 'p2wsh':
      return 330n;
    case 'p2sh':
      return 540n;
    case 'p2pkh':
      return 546n;
    case 'nulldata':
      return 0n;
    case 'nonstandard':
      return 546n;
  }
}
