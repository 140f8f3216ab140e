import type { Config } from '../../config/schema.js';
import { EXIT_OK } from '../exit-codes.js';
import { loadExport } from '../lazy.js';

/** What `metanode start` expects from src/node.ts. */
export interface RunningNode {
  stop(): Promise<void>;
  /** Settles when the node ends by itself; a number is the exit code (e.g. 65 on share inconsistency). */
  done?: Promise<number | void>;
}
export type StartNode = (config: Config) => Promise<RunningNode>;

/** `metanode start`: run the node until SIGINT/SIGTERM or until it stops itself; returns the exit code. */
export async function startCommand(config: Config, deps: { startNode?: StartNode; signals?: NodeJS.Signals[] } = {}): Promise<number> {
  const startNode = deps.startNode ?? (await loadExport<StartNode>('../node.js', 'startNode', 'the node runtime'));
  const node = await startNode(config);
  const signals = deps.signals ?? ['SIGINT', 'SIGTERM'];
  let onSignal: (() => void) | undefined;
  const stopped = new Promise<number>((resolve) => {
    onSignal = () => resolve(EXIT_OK);
    for (const s of signals) process.once(s, onSignal);
  });
  const ended = node.done ? node.done.then((code) => (typeof code === 'number' ? code : EXIT_OK)) : new Promise<number>(() => {});
  try {
    const code = await Promise.race([stopped, ended]);
    await node.stop();
    return code;
  } finally {
    for (const s of signals) if (onSignal) process.off(s, onSignal);
  }
}
