// Block and coinbase construction for the devchain: real 80-byte headers (regtest bits, the nonce
// ground until the hash meets the regtest target), real merkle roots, BIP34 height in the coinbase.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import * as btc from '@scure/btc-signer';

export const REGTEST_BITS = 0x207fffff;
const BLOCK_VERSION = 0x20000000;

export function sha256d(b: Uint8Array): Uint8Array {
  return sha256(sha256(b));
}

/** Display-order hex of a double-SHA256 (txids and block hashes are shown byte-reversed). */
export function hashToDisplay(h: Uint8Array): string {
  return bytesToHex(Uint8Array.from(h).reverse());
}

export function displayToInternal(hex: string): Uint8Array {
  return hexToBytes(hex).reverse();
}

export function merkleRoot(txids: string[]): Uint8Array {
  let level = txids.map(displayToInternal);
  if (level.length === 0) return new Uint8Array(32);
  while (level.length > 1) {
    if (level.length % 2 === 1) level.push(level[level.length - 1]);
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(concatBytes(level[i], level[i + 1])));
    level = next;
  }
  return level[0];
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

export interface HeaderFields {
  version: number;
  prevHash: string;
  merkleRoot: string; // display order
  time: number;
  bits: number;
  nonce: number;
}

export function encodeHeader(h: HeaderFields): Uint8Array {
  return concatBytes(
    u32le(h.version),
    displayToInternal(h.prevHash),
    displayToInternal(h.merkleRoot),
    u32le(h.time),
    u32le(h.bits),
    u32le(h.nonce),
  );
}

export function decodeHeader(raw: Uint8Array): HeaderFields & { hash: string } {
  if (raw.length !== 80) throw new Error(`block header must be 80 bytes, got ${raw.length}`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    version: dv.getUint32(0, true),
    prevHash: hashToDisplay(raw.subarray(4, 36)),
    merkleRoot: hashToDisplay(raw.subarray(36, 68)),
    time: dv.getUint32(68, true),
    bits: dv.getUint32(72, true),
    nonce: dv.getUint32(76, true),
    hash: hashToDisplay(sha256d(raw)),
  };
}

/** Grinds the nonce until the header hash is below the regtest target (about two tries). */
export function mineHeader(prevHash: string, txids: string[], time: number): { header: Uint8Array; hash: string } {
  const fields: HeaderFields = {
    version: BLOCK_VERSION,
    prevHash,
    merkleRoot: hashToDisplay(merkleRoot(txids)),
    time,
    bits: REGTEST_BITS,
    nonce: 0,
  };
  for (;;) {
    const header = encodeHeader(fields);
    const hash = hashToDisplay(sha256d(header));
    if (parseInt(hash.slice(0, 2), 16) < 0x7f) return { header, hash };
    fields.nonce++;
  }
}

function scriptNum(n: number): Uint8Array {
  if (n === 0) return new Uint8Array([0x00]);
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  if (bytes[bytes.length - 1] & 0x80) bytes.push(0);
  return new Uint8Array([bytes.length, ...bytes]);
}

function push(data: Uint8Array): Uint8Array {
  if (data.length > 75) throw new Error('push too long');
  return concatBytes(new Uint8Array([data.length]), data);
}

export const DEVCHAIN_TAG = new TextEncoder().encode('metanode-devchain');

/**
 * A transaction with one null-prevout input. Used for block coinbases (tag = 'cb') and for faucet
 * funding (tag = 'faucet'); `nonce` makes every one distinct so no two share a txid.
 */
export function nullInputTx(args: { height: number; nonce: number; tag: string; outputs: { script: Uint8Array; value: bigint }[] }): string {
  const nonceBytes = new TextEncoder().encode(`${args.tag}:${args.nonce}`);
  const scriptSig = concatBytes(scriptNum(args.height), push(DEVCHAIN_TAG), push(nonceBytes));
  const raw = btc.RawTx.encode({
    version: 2,
    segwitFlag: false,
    inputs: [{ txid: new Uint8Array(32), index: 0xffffffff, finalScriptSig: scriptSig, sequence: 0xffffffff }],
    outputs: args.outputs.map((o) => ({ amount: o.value, script: o.script })),
    witnesses: [],
    lockTime: 0,
  } as never);
  return bytesToHex(raw);
}

export function blockSubsidy(height: number): bigint {
  const halvings = Math.floor(height / 150); // regtest halving interval
  return halvings >= 64 ? 0n : (50n * 100_000_000n) >> BigInt(halvings);
}
