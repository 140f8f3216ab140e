// The node's reaction to a doppelganger report from its network (the detection itself is tested
// with real libp2p hosts in test/p2p/doppelganger.test.ts): it stops, and `done` resolves with
// exit code 76, which the systemd unit does not restart. Until its window has passed it does not
// ping, and /health says it is listening.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startNode } from '../../src/node/index.js';
import { initCommand } from '../../src/cli/commands/init.js';
import { createLogger } from '../../src/util/log.js';
import { EXIT_DOPPELGANGER } from '../../src/cli/exit-codes.js';
import { closedPort } from '../support/ports.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-doppel-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('a node told of a ping with its own peer id stops with exit code 76', { timeout: 90_000 }, async () => {
  const passFile = join(tmp, 'pass');
  writeFileSync(passFile, 'doppelganger passphrase\n', { mode: 0o600 });
  const cfgFile = join(tmp, 'metanode.yaml');
  writeFileSync(
    cfgFile,
    [
      'network: regtest',
      `dataDir: ${join(tmp, 'data')}`,
      `keystore: { passphraseFile: ${passFile}, scryptN: 1024 }`,
      `chain: { source: esplora, esploraUrl: "http://127.0.0.1:${await closedPort()}", pollMs: 200 }`,
      "p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], pingIntervalMs: 60000, peerTimeoutMs: 120000, doppelgangerIntervals: 3 }",
      'http: { port: 0 }',
      '',
    ].join('\n'),
  );
  const config = loadConfig(cfgFile, {});
  await initCommand(config, {});
  const node = await startNode(config, { log: createLogger({ level: 'silent' }) });
  try {
    assert.equal(node.ctx.network.isPinging, false, 'silent during the window');
    const health = (await (await fetch(`${node.apiUrl}/health`, { signal: AbortSignal.timeout(5_000) })).json()) as { syncing: string[] };
    assert.ok(health.syncing.includes('listening for another instance with this peer id before taking part'), JSON.stringify(health));
    node.ctx.network.emit('doppelganger', { clock: Date.now(), epoch: 0, round: 1, via: 'test' });
    assert.equal(await node.done, EXIT_DOPPELGANGER);
  } finally {
    await node.stop();
  }
});
