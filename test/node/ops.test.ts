// A real node started from a config (chain source down), as an operator sees it: /health 503
// with the reason, /metrics as Prometheus text with metanode's and libp2p's families, a bad POST
// answered 400 while the node keeps running, every log line captured and free of secrets, and
// the read commands working on its data directory once it is stopped.
import { apiTokenPath, readApiToken } from '../../src/api/auth.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import { startNode } from '../../src/node/index.js';
import { initCommand } from '../../src/cli/commands/init.js';
import { openKeystoreFromConfig } from '../../src/keystore/index.js';
import { createLogger } from '../../src/util/log.js';
import { main, type CliIo } from '../../src/cli/main.js';
import { parsePrometheusText } from '../api/prometheus-text.js';
import { closedPort } from '../support/ports.js';
import { EXIT_DATADIR_LOCKED } from '../../src/cli/exit-codes.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-ops-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const PASS = 'correct horse battery staple';
const RPC_PASS = 'rpc-s3cret-value-xyz';

test('a running node: /health, /metrics, bad POST, logs without secrets; then reads on its stopped data', { timeout: 90_000 }, async () => {
  const dataDir = join(tmp, 'data');
  const passFile = join(tmp, 'passphrase');
  writeFileSync(passFile, PASS + '\n', { mode: 0o600 });
  const cfgFile = join(tmp, 'metanode.yaml');
  const chainPort = await closedPort();
  writeFileSync(
    cfgFile,
    [
      'network: regtest',
      `dataDir: ${dataDir}`,
      `keystore: { passphraseFile: ${passFile}, scryptN: 1024 }`,
      `chain: { source: bitcoind, pollMs: 200, bitcoind: { url: "http://127.0.0.1:${chainPort}", user: rpcuser, password: ${RPC_PASS} } }`,
      "p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrapGraceMs: 0 }",
      'http: { port: 0 }',
      'log: { level: trace }',
      '',
    ].join('\n'),
  );
  const config = loadConfig(cfgFile, {});
  await initCommand(config, {});
  const identity = await openKeystoreFromConfig(config, {}, false).loadIdentity();
  const secrets = [PASS, RPC_PASS, Buffer.from(identity.raw).toString('hex'), Buffer.from(identity.raw).toString('base64')];

  let logged = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logged += chunk.toString();
      cb();
    },
  });
  // Bitcoin Core unreachable at start: the node refuses to start (systemd starts it again), the
  // error names the chain and not the RPC password, and the data-dir lock is released.
  await assert.rejects(
    startNode(config, { log: createLogger({ level: 'trace', destination: sink }) }),
    (e: Error & { code?: string }) => e.code === 'CHAIN_UNAVAILABLE' && !e.message.includes(RPC_PASS),
  );
  // The rest runs against an Esplora source that is down: the node starts and says so.
  const esploraConfig = loadConfig(cfgFile, { METANODE_CHAIN_SOURCE: 'esplora', METANODE_CHAIN_ESPLORA_URL: `http://127.0.0.1:${chainPort}` });
  const node = await startNode(esploraConfig, { log: createLogger({ level: 'trace', destination: sink }) });
  let stopped = false;
  try {
    const get = async (path: string) => {
      const r = await fetch(node.apiUrl + path, { signal: AbortSignal.timeout(10_000) });
      return { status: r.status, text: await r.text() };
    };
    // The chain is down: unhealthy, and the reason says why.
    const health = await get('/health');
    assert.equal(health.status, 503);
    const body = JSON.parse(health.text);
    assert.equal(body.status, 'unhealthy');
    assert.ok(body.reasons.some((r: string) => r.startsWith('chain unreachable')), health.text);
    // Isolated, unstaked: every reason is named, and seeing nobody does not mean needing nobody.
    assert.ok(body.reasons.includes('no stake configured (stake.txid, stake.vout)'), health.text);
    assert.ok(body.reasons.includes('0 connections to staked peers, below f+1 = 1'), health.text);

    // One instance per data directory: a second start is refused at once, naming our PID.
    await assert.rejects(startNode(config, { log: createLogger({ level: 'silent' }) }), (e: Error) => {
      assert.match(e.message, /^DATADIR_LOCKED: data directory .* is in use by another metanode \(PID \d+\)/);
      assert.ok(e.message.includes(`(PID ${process.pid})`), e.message);
      return true;
    });
    let err = '';
    const startIo: CliIo = { stdout: () => {}, stderr: (t) => void (err += t), env: {}, cwd: tmp };
    assert.equal(await main(['--config', cfgFile, 'start'], startIo), EXIT_DATADIR_LOCKED);
    assert.match(err, /in use by another metanode \(PID \d+\)/);

    const unauthenticated = await fetch(node.apiUrl + '/v1/transfers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amountSats": -1}', signal: AbortSignal.timeout(10_000) });
    assert.equal(unauthenticated.status, 401);
    const token = readApiToken(node.ctx.config.dataDir)!;
    assert.equal(statSync(apiTokenPath(node.ctx.config.dataDir)).mode & 0o777, 0o600);
    const bad = await fetch(node.apiUrl + '/v1/transfers', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"amountSats": -1}', signal: AbortSignal.timeout(10_000) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /^body\.amountSats: must be a positive whole number of sats, got -1; body\.payoutAddress: required/);

    const metrics = parsePrometheusText((await get('/metrics')).text);
    const type = (n: string) => metrics.get(n)?.type;
    for (const [name, t] of Object.entries({
      metanode_peers: 'gauge',
      metanode_rounds: 'gauge',
      metanode_deposits: 'gauge',
      metanode_deposit_sats: 'gauge',
      metanode_transfers: 'gauge',
      metanode_blocklist_size: 'gauge',
      metanode_build_info: 'gauge',
      metanode_chain_tip_height: 'gauge',
      metanode_chain_tip_age_seconds: 'gauge',
      metanode_chain_last_poll_age_seconds: 'gauge',
      metanode_epoch: 'gauge',
      metanode_committee_size: 'gauge',
      metanode_threshold: 'gauge',
      metanode_share_held: 'gauge',
      metanode_committee_member: 'gauge',
      metanode_staked_peers: 'gauge',
      metanode_staked_peers_connected: 'gauge',
      metanode_stake_valid: 'gauge',
      metanode_stake_check_age_seconds: 'gauge',
      metanode_clock_skew_seconds: 'gauge',
      metanode_clock_skew_known: 'gauge',
      metanode_ceremony_duration_seconds: 'histogram',
      metanode_p2p_connections: 'gauge',
      metanode_http_requests_total: 'counter',
      metanode_process_cpu_user_seconds_total: 'counter',
      libp2p_connection_manager_connections: 'gauge',
      libp2p_protocol_streams_total: 'gauge',
      libp2p_connection_manager_dials_total: 'counter',
      libp2p_tcp_inbound_connections_total: 'gauge',
      libp2p_connections_opened_total: 'counter',
    }))
      assert.equal(type(name), t, name);
    assert.deepEqual(metrics.get('metanode_blocklist_size')!.samples.map((s) => s.value), [0]);
    // An idle node has every series, with zero values (an absent series reads as a broken exporter).
    for (const name of ['metanode_peers', 'metanode_rounds', 'metanode_transfers', 'metanode_ceremony_duration_seconds', 'metanode_epoch', 'metanode_share_held', 'metanode_stake_valid'])
      assert.ok(metrics.get(name)!.samples.length > 0, `${name} has samples on an idle node`);
    const value = (name: string, labels: Record<string, string> = {}) =>
      metrics.get(name.replace(/_count$/, ''))!.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('metanode_peers', { state: 'connected' }), 0);
    assert.equal(value('metanode_rounds', { outcome: 'aborted' }), 0);
    assert.equal(value('metanode_ceremony_duration_seconds_count', { kind: 'signing', outcome: 'aborted' }), 0);
    assert.equal(value('metanode_ceremony_duration_seconds_count', { kind: 'keygen', outcome: 'failed' }), 0);
    assert.equal(value('metanode_epoch'), 0);
    assert.equal(value('metanode_stake_valid'), 0);
    assert.equal(value('metanode_chain_last_poll_age_seconds'), -1);
    assert.match(metrics.get('metanode_build_info')!.samples[0]!.labels.commit!, /^([0-9a-f]{40}|unknown)$/);
    assert.equal(metrics.get('metanode_build_info')!.samples[0]!.labels.version, '0.1.0');
    assert.ok(metrics.get('libp2p_tcp_inbound_connections_total')!.samples.some((s) => s.labels.address?.startsWith('127.0.0.1:')));
    const req = metrics.get('metanode_http_requests_total')!.samples.find((s) => s.labels.route === 'submit' && s.labels.status === '400');
    assert.equal(req?.value, 1);
    // Still serving after the refusal.
    assert.equal((await get('/v1/status')).status, 200);

    await node.stop();
    stopped = true;
  } finally {
    if (!stopped) await node.stop();
  }

  assert.match(logged, /"msg":"metanode started"/);
  assert.match(logged, /"msg":"chain source unavailable"/);
  for (const line of logged.trim().split('\n')) JSON.parse(line);
  for (const s of secrets) assert.ok(!logged.includes(s), `a secret reached the log: ${s.slice(0, 4)}…`);

  // Stopped: the read commands answer from the data directory.
  let out = '';
  const io: CliIo = { stdout: (s) => void (out += s), stderr: () => {}, env: {}, cwd: tmp };
  // A stopped node's status is printed, and the exit code says it is not running.
  assert.equal(await main(['--config', cfgFile, '--offline', 'status', '--json'], io), 1);
  const status = JSON.parse(out);
  assert.equal(status.peerId, node.peerId);
  assert.equal(status.state, 'stopped');
  out = '';
  assert.equal(await main(['--config', cfgFile, '--offline', 'rounds', '--json'], io), 0);
  assert.deepEqual(JSON.parse(out), []);
});
