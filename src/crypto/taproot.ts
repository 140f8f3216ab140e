// Taproot helpers: vault and deposit addresses from the epoch key, and the tweak that turns
// the vault shares into deposit shares.
//
// Deposit-address construction (decision, see also README design section):
//   root_d = tagged_hash('metanode/deposit', utf8(requestId))          (32 bytes)
//   Q_d    = P + int(tagged_hash('TapTweak', x(P) || root_d)) * G       (BIP341 taproot_tweak_pubkey)
// i.e. a standard BIP341 output with the epoch's internal key P and root_d in the place of a
// script-tree merkle root. root_d is a hash under a tag no TapLeaf/TapBranch uses, so nobody
// knows a script path for it: the output is key-path only, like the vault. Every node
// recomputes root_d from the public request id. The request id is itself the sha256 of the
// request's full signed content (requestIdOf in src/custody/requests-schema.ts), so the tweak
// commits to the amount, payout and refund addresses, expiry and origin: two different requests
// cannot share a deposit address. Any Taproot tool that accepts
// (internal key, merkle root) — e.g. PSBT tapInternalKey + tapMerkleRoot — derives the same Q_d.
// The "tweak" handed around (SigningTarget.tweak, depositTweak()) is root_d.
import { schnorr } from '@noble/curves/secp256k1.js';
import { Address, NETWORK, OutScript, TEST_NETWORK, utils as btcUtils } from '@scure/btc-signer';
import type { Network } from '../chain/types.js';
import { bytesToHex, fail, Fn, hexToBytes, isHex, utf8 } from './internal.js';
import type { EpochKey } from './types.js';

type BtcNet = typeof NETWORK;
const REGTEST: BtcNet = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };

export function btcNetwork(network: Network): BtcNet {
  switch (network) {
    case 'mainnet':
      return NETWORK;
    case 'testnet':
    case 'signet':
      return TEST_NETWORK;
    case 'regtest':
      return REGTEST;
    default:
      return fail('INVALID_INPUT', `unknown network ${String(network)}`);
  }
}

/**
 * BIP341 taproot_tweak_pubkey: output key (x-only hex) and its parity for an x-only internal
 * key and a merkle root (hex, 32 bytes; '' or undefined = key-path only, empty root).
 */
export function taprootOutputKey(internalKey: string, merkleRoot?: string): { outputKey: string; parity: 0 | 1 } {
  if (!isHex(internalKey, 32)) fail('INVALID_INPUT', 'internal key must be 32-byte x-only hex');
  const root = merkleRoot ?? '';
  if (root !== '' && !isHex(root, 32)) fail('INVALID_INPUT', 'merkle root must be 32-byte hex');
  try {
    const [q, parity] = btcUtils.taprootTweakPubkey(hexToBytes(internalKey), hexToBytes(root));
    return { outputKey: bytesToHex(q), parity: parity as 0 | 1 };
  } catch (e) {
    return fail('INVALID_INPUT', `taproot tweak failed: ${(e as Error).message}`);
  }
}

/** int(tagged_hash('TapTweak', x(P) || root)) as a scalar; BIP341 rejects values >= n. */
export function tapTweakScalar(internalKey: string, merkleRoot: string): bigint {
  const t = BigInt('0x' + bytesToHex(schnorr.utils.taggedHash('TapTweak', hexToBytes(internalKey), hexToBytes(merkleRoot))));
  if (t >= Fn.ORDER) fail('INVALID_INPUT', 'TapTweak hash exceeds the group order');
  return t;
}

const MAX_REQUEST_ID = 256;

/** Public per-transfer tweak (the merkle-root slot of the deposit output), 32-byte hex. */
export function depositTweak(key: EpochKey, requestId: string): string {
  void key; // the tweak is bound to the key through TapTweak(P || root); root depends on the request only
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > MAX_REQUEST_ID)
    fail('INVALID_INPUT', `request id must be a non-empty string of at most ${MAX_REQUEST_ID} characters`);
  return bytesToHex(schnorr.utils.taggedHash('metanode/deposit', utf8(requestId)));
}

/** x-only output key the scriptPubKey commits to: the vault key, or the deposit key for `tweak`. */
export function outputKeyFor(key: EpochKey, tweak?: string): string {
  if (tweak === undefined || tweak === '') return key.outputKey;
  if (!isHex(tweak, 32)) fail('INVALID_INPUT', 'tweak must be 32-byte hex');
  return taprootOutputKey(key.internalKey, tweak).outputKey;
}

/** OP_1 <32-byte output key>, hex. */
export function scriptPubKeyFor(key: EpochKey, tweak?: string): string {
  return '5120' + outputKeyFor(key, tweak);
}

export function vaultAddress(key: EpochKey): string {
  return addressFromScript(scriptPubKeyFor(key), key.network);
}

export function depositAddress(key: EpochKey, requestId: string): string {
  return addressFromScript(scriptPubKeyFor(key, depositTweak(key, requestId)), key.network);
}

/** Address for an output script (any standard type), for the given network. */
export function addressFromScript(scriptHex: string, network: Network): string {
  if (!isHex(scriptHex) || scriptHex.length === 0) fail('INVALID_INPUT', 'script must be non-empty hex');
  try {
    const decoded = OutScript.decode(hexToBytes(scriptHex));
    return Address(btcNetwork(network)).encode(decoded);
  } catch (e) {
    return fail('INVALID_INPUT', `script ${scriptHex} has no ${network} address: ${(e as Error).message}`);
  }
}

/** Output script (hex) for an address; rejects addresses of another network or malformed ones. */
export function scriptFromAddress(address: string, network: Network): string {
  if (typeof address !== 'string' || address.length === 0 || address.length > 128)
    fail('INVALID_INPUT', 'address must be a non-empty string');
  try {
    return bytesToHex(OutScript.encode(Address(btcNetwork(network)).decode(address)));
  } catch (e) {
    return fail('INVALID_INPUT', `not a valid ${network} address: ${address} (${(e as Error).message})`);
  }
}
