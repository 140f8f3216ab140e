import type { Config } from '../../config/schema.js';
import { openKeystoreFromConfig, obtainPassphrase, type PassphrasePrompt, type ResolvedPassphrase } from '../../keystore/index.js';
import { MetanodeError } from '../../util/errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { loadExport } from '../lazy.js';

/** What `metanode start` expects from src/node.ts. */
export interface RunningNode {
  stop(): Promise<void>;
  /** Settles when the node ends by itself; a number is the exit code (e.g. 65 on share inconsistency). */
  done?: Promise<number | void>;
}
export type StartNode = (config: Config, opts?: { passphrase?: ResolvedPassphrase }) => Promise<RunningNode>;

export interface StartDeps {
  startNode?: StartNode;
  signals?: NodeJS.Signals[];
  env?: Record<string, string | undefined>;
  /** Terminal prompt for the passphrase when no file, credential or variable holds it. */
  prompt?: PassphrasePrompt;
}

/**
 * Before anything starts: the key files are private (0600, ours) and the passphrase opens the
 * identity key. Either failure is a KEYSTORE error naming the file, or the passphrase source.
 */
export async function preflightKeystore(config: Config, env: Record<string, string | undefined>, prompt?: PassphrasePrompt): Promise<ResolvedPassphrase> {
  const pass = await obtainPassphrase(config.keystore, env, prompt);
  const ks = openKeystoreFromConfig(config, env, false, pass);
  if (!ks.hasIdentity()) throw new MetanodeError('KEYSTORE', `no identity key in ${ks.dir}: run \`metanode init\` first`);
  await ks.loadIdentity();
  return pass;
}

/** `metanode start`: run the node until SIGINT/SIGTERM or until it stops itself; returns the exit code. */
export async function startCommand(config: Config, deps: StartDeps = {}): Promise<number> {
  const pass = await preflightKeystore(config, deps.env ?? process.env, deps.prompt);
  const startNode = deps.startNode ?? (await loadExport<StartNode>('../node.js', 'startNode', 'the node runtime'));
  const node = await startNode(config, { passphrase: pass });
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
