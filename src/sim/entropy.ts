// Seeded entropy for one simulation run. Every random draw of the code under simulation (FROST
// nonces, DKG polynomials, BIP340 aux randomness, batch-check weights) goes through
// globalThis.crypto.getRandomValues; for the length of a run the simulator replaces it with a
// sha256 counter-mode stream of the seed, so a run, message bytes included, is a function of its
// seed alone and a failing seed replays exactly. Keys made this way are predictable: simulation
// only, never a node's key material. The real source is put back when the run ends (tests run
// several simulations in one process).
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

/** A deterministic byte stream: sha256(label || counter) blocks. */
export class SeededBytes {
  private block = new Uint8Array(0);
  private pos = 0;
  private counter = 0;
  private readonly label: Uint8Array;

  constructor(seed: string) {
    this.label = utf8ToBytes(`metanode/sim-entropy/1\n${seed}\n`);
  }

  fill<T extends ArrayBufferView>(view: T): T {
    const out = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    for (let i = 0; i < out.length; i++) {
      if (this.pos === this.block.length) this.refill();
      out[i] = this.block[this.pos++]!;
    }
    return view;
  }

  private refill(): void {
    const ctr = new Uint8Array(8);
    new DataView(ctr.buffer).setBigUint64(0, BigInt(this.counter++));
    const input = new Uint8Array(this.label.length + 8);
    input.set(this.label);
    input.set(ctr, this.label.length);
    this.block = sha256(input);
    this.pos = 0;
  }
}

let installed = false;

/**
 * Runs `fn` with getRandomValues drawn from `seed`, restoring the real source afterwards (also on
 * a throw). Runs do not nest: a second install while one is active is a programming error.
 */
export async function withSeededEntropy<T>(seed: string, fn: () => Promise<T>): Promise<T> {
  if (installed) throw new Error('sim: seeded entropy is already installed (simulations do not nest)');
  const desc = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const real = globalThis.crypto;
  const stream = new SeededBytes(seed);
  const fake = Object.create(real, {
    getRandomValues: { value: <V extends ArrayBufferView | null>(v: V): V => (v ? stream.fill(v) : v) },
    randomUUID: { value: () => { throw new Error('sim: randomUUID is not seeded'); } },
    subtle: { get: () => real.subtle },
  }) as typeof globalThis.crypto;
  Object.defineProperty(globalThis, 'crypto', { value: fake, configurable: true, writable: true, enumerable: desc?.enumerable ?? false });
  installed = true;
  try {
    return await fn();
  } finally {
    if (desc) Object.defineProperty(globalThis, 'crypto', desc);
    installed = false;
  }
}
