export interface DevchainOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  blockIntervalMs?: number;
}

/** `metanode devchain --port N`: the regtest simulator alone, serving the Esplora API. */
export async function devchainCommand(opts: DevchainOptions): Promise<void> {
  const { runDevchainCommand } = await import('../../chain/devchain/index.js');
  await runDevchainCommand(opts);
}
