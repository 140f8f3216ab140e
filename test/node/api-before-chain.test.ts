// Issue 16: with a large request store the first chain poll reads many addresses, and /health
// was silent until it ended (the API listened only after it). The API now listens first and says
// the node is starting; the chain source here holds every request until the test lets it go.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startNode } from '../../src/node/index.js';
import { initCommand } from '../../src/cli/commands/init.js';
import { createLogger } from '../../src/util/log.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-apifirst-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A free loopback port below the ephemeral range (the node's API needs one known in advance). */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createTcpServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 20000-29999');
}

test('the API answers while the first chain poll is still waiting on the chain source: 503, node is starting', { timeout: 90_000 }, async () => {
  const held: ServerResponse[] = [];
  let released = false;
  const chain = createHttpServer((_req, res) => {
    if (released) res.writeHead(500).end('down');
    else held.push(res);
  });
  await new Promise<void>((r) => chain.listen(0, '127.0.0.1', r));
  const chainPort = (chain.address() as { port: number }).port;
  const apiPort = await freePort();
  const passFile = join(tmp, 'pass');
  writeFileSync(passFile, 'api first passphrase\n', { mode: 0o600 });
  const cfgFile = join(tmp, 'metanode.yaml');
  writeFileSync(
    cfgFile,
    [
      'network: regtest',
      `dataDir: ${join(tmp, 'data')}`,
      `keystore: { passphraseFile: ${passFile}, scryptN: 1024 }`,
      `chain: { source: esplora, esploraUrl: "http://127.0.0.1:${chainPort}", pollMs: 60000 }`,
      "p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], pingIntervalMs: 60000, peerTimeoutMs: 120000, doppelgangerIntervals: 0 }",
      `http: { port: ${apiPort} }`,
      '',
    ].join('\n'),
  );
  const config = loadConfig(cfgFile, {});
  await initCommand(config, {});
  let started = false;
  const starting = startNode(config, { log: createLogger({ level: 'silent' }) }).then((n) => {
    started = true;
    return n;
  });
  const release = () => {
    released = true;
    for (const r of held.splice(0)) r.writeHead(500).end('down');
  };
  try {
    let health: { status: number; body: { reasons: string[]; checks: { started: boolean } } } | undefined;
    const deadline = Date.now() + 60_000;
    while (!health && Date.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${apiPort}/health`, { signal: AbortSignal.timeout(5_000) });
        health = { status: res.status, body: (await res.json()) as never };
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(health, '/health answered while the chain source held every request');
    assert.equal(started, false, 'startNode has not returned: the first chain poll is still waiting');
    assert.ok(held.length > 0, 'the chain source is holding the node’s requests');
    assert.equal(health.status, 503);
    assert.ok(health.body.reasons.includes('node is starting'), JSON.stringify(health.body));
    assert.equal(health.body.checks.started, false);
  } finally {
    release();
    const node = await starting;
    await node.stop();
    await new Promise((r) => chain.close(r));
  }
});
