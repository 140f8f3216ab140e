import { loadExport } from '../lazy.js';

export interface DevnetOptions {
  nodes?: number;
  /** Working directory for the devchain, node configs, keys and databases. */
  dir?: string;
  /** Remove the directory's previous state first. */
  fresh?: boolean;
  /** Base config the node configs derive from (default config/devnet.yaml). */
  config?: string;
  basePort?: number;
  blockIntervalMs?: number;
  /** Stop after this many seconds (CI); default run until Ctrl-C. */
  durationSec?: number;
}

export type RunDevnet = (opts: DevnetOptions) => Promise<number | void>;

/** `metanode devnet` (and `npm start`): devchain plus N nodes on loopback; returns the exit code. */
export async function devnetCommand(opts: DevnetOptions, deps: { runDevnet?: RunDevnet } = {}): Promise<number> {
  const run = deps.runDevnet ?? (await loadExport<RunDevnet>('../devnet/index.js', 'runDevnet', 'the devnet'));
  const code = await run(opts);
  return typeof code === 'number' ? code : 0;
}
