import { loadExport } from '../lazy.js';

// Type-only: the devnet module itself is loaded lazily below.
import type { DevnetOptions } from '../../devnet/index.js';
export type { DevnetOptions };

export type RunDevnet = (opts: DevnetOptions) => Promise<number | void>;

/** `metanode devnet` (and `npm start`): devchain plus N nodes on loopback; returns the exit code. */
export async function devnetCommand(opts: DevnetOptions, deps: { runDevnet?: RunDevnet } = {}): Promise<number> {
  const run = deps.runDevnet ?? (await loadExport<RunDevnet>('../devnet/index.js', 'runDevnet', 'the devnet'));
  const code = await run(opts);
  return typeof code === 'number' ? code : 0;
}
