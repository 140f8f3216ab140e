import { loadExport } from '../lazy.js';

// Type-only: the devnet module itself is loaded lazily below.
import type { DevnetOptions, DevnetSummary } from '../../devnet/index.js';
export type { DevnetOptions, DevnetSummary };

export type RunDevnet = (opts: DevnetOptions) => Promise<DevnetSummary>;

/** `metanode devnet` (and `npm start`): devchain plus N nodes on loopback; returns the run's summary. */
export async function devnetCommand(opts: DevnetOptions, deps: { runDevnet?: RunDevnet } = {}): Promise<DevnetSummary> {
  const run = deps.runDevnet ?? (await loadExport<RunDevnet>('../devnet/index.js', 'runDevnet', 'the devnet'));
  return run(opts);
}

/** The summary as text (--json prints the object). */
export async function renderDevnetSummary(s: DevnetSummary): Promise<string> {
  const render = await loadExport<(s: DevnetSummary) => string>('../devnet/summary.js', 'renderSummary', 'the devnet');
  return render(s);
}
