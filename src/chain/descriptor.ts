// Output descriptors as Bitcoin Core's wallet takes them: `addr(<address>)` with the BIP380
// checksum (importdescriptors refuses a descriptor without one), and the way back from what
// listdescriptors lists to the address.
import { MetanodeError } from '../util/errors.js';

const INPUT_CHARSET = '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ ';
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0xf5dee51989n, 0xa9fdca3312n, 0x1bab10e32dn, 0x3706b1677an, 0x644d626ffdn];

function polymod(c: bigint, val: number): bigint {
  const c0 = c >> 35n;
  let r = ((c & 0x7ffffffffn) << 5n) ^ BigInt(val);
  for (let i = 0; i < 5; i++) if ((c0 >> BigInt(i)) & 1n) r ^= GENERATOR[i];
  return r;
}

/** The 8-character BIP380 checksum of a descriptor (without its `#`). */
export function descriptorChecksum(desc: string): string {
  let c = 1n;
  let cls = 0;
  let clsCount = 0;
  for (const ch of desc) {
    const pos = INPUT_CHARSET.indexOf(ch);
    if (pos < 0) throw new MetanodeError('INVALID_INPUT', `descriptor has a character outside the descriptor charset: ${JSON.stringify(ch)}`);
    c = polymod(c, pos & 31);
    cls = cls * 3 + (pos >> 5);
    if (++clsCount === 3) {
      c = polymod(c, cls);
      cls = 0;
      clsCount = 0;
    }
  }
  if (clsCount > 0) c = polymod(c, cls);
  for (let i = 0; i < 8; i++) c = polymod(c, 0);
  c ^= 1n;
  let out = '';
  for (let i = 0; i < 8; i++) out += CHECKSUM_CHARSET[Number((c >> BigInt(5 * (7 - i))) & 31n)];
  return out;
}

/** `addr(<address>)#<checksum>`. */
export function addrDescriptor(address: string): string {
  const d = `addr(${address})`;
  return `${d}#${descriptorChecksum(d)}`;
}

/** The descriptor without its checksum, when the checksum is present and right; else null. */
export function checkedDescriptor(desc: string): string | null {
  const i = desc.lastIndexOf('#');
  if (i < 0) return null;
  const body = desc.slice(0, i);
  try {
    return descriptorChecksum(body) === desc.slice(i + 1) ? body : null;
  } catch {
    return null;
  }
}

/** The address of an `addr(...)` descriptor (checksum optional), or null for any other descriptor. */
export function addressOfDescriptor(desc: string): string | null {
  const m = /^addr\(([A-Za-z0-9]+)\)(#[a-z0-9]{8})?$/.exec(desc);
  return m ? m[1]! : null;
}
