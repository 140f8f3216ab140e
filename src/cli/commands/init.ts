import type { Config } from '../../config/schema.js';
import { openKeystoreFromConfig } from '../../keystore/index.js';

export interface InitResult {
  peerId: string;
  created: boolean;
  network: string;
  keystoreDir: string;
  identityFile: string;
}

/** `metanode init`: create the encrypted identity key (kept if it exists) and print the peer id. */
export async function initCommand(config: Config, env: Record<string, string | undefined> = process.env): Promise<InitResult> {
  const ks = openKeystoreFromConfig(config, env, true);
  const r = await ks.init();
  return { peerId: r.peerId, created: r.created, network: config.network, keystoreDir: ks.dir, identityFile: r.file };
}

export function renderInit(r: InitResult): string {
  return r.created
    ? `created identity ${r.peerId}\nkeystore: ${r.keystoreDir}\nnext: stake for this peer id (\`metanode stake --reward <address>\`), then \`metanode start\``
    : `identity already exists: ${r.peerId}\nkeystore: ${r.keystoreDir} (unchanged)`;
}
