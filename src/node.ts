// Entry point the CLI's `start` command loads lazily.
export { startNode } from './node/index.js';
export type { RunningNode, StartNodeOptions } from './node/index.js';
