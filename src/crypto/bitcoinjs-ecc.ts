// bitcoinjs-lib 7 needs an ECC backend (initEccLib) for Taproot payments: it only calls
// isXOnlyPoint and xOnlyPointAddTweak. This adapter answers both with noble's secp256k1, so
// the project needs no native secp256k1 package. Not new curve math: lift_x and one point add.
import { schnorr } from '@noble/curves/secp256k1.js';
import { initEccLib } from 'bitcoinjs-lib';
import { Fn, Point } from './internal.js';

function bytesToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

export const bitcoinjsEcc = {
  isXOnlyPoint(p: Uint8Array): boolean {
    if (!(p instanceof Uint8Array) || p.length !== 32) return false;
    try {
      schnorr.utils.lift_x(bytesToBig(p));
      return true;
    } catch {
      return false;
    }
  },
  xOnlyPointAddTweak(p: Uint8Array, tweak: Uint8Array): { parity: 0 | 1; xOnlyPubkey: Uint8Array } | null {
    if (!(p instanceof Uint8Array) || p.length !== 32 || !(tweak instanceof Uint8Array) || tweak.length !== 32) return null;
    try {
      const t = bytesToBig(tweak);
      if (t >= Fn.ORDER) return null;
      const P = schnorr.utils.lift_x(bytesToBig(p));
      const Q = t === 0n ? P : P.add(Point.BASE.multiply(t));
      if (Q.is0()) return null;
      const bytes = Q.toBytes(true);
      return { parity: bytes[0] === 0x03 ? 1 : 0, xOnlyPubkey: bytes.slice(1) };
    } catch {
      return null;
    }
  },
};

let initialized = false;
/** Idempotent: register the adapter with bitcoinjs-lib (it self-tests the backend once). */
export function ensureBitcoinjsEcc(): void {
  if (initialized) return;
  initEccLib(bitcoinjsEcc);
  initialized = true;
}
