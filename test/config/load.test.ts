import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, ConfigError } from '../../src/config/index.js';
import { isMetanodeError } from '../../src/util/errors.js';

const ESPLORA = { chain: { esploraUrl: 'http://127.0.0.1:3002' } };

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(isMetanodeError(e, 'INVALID_CONFIG'));
    return e.issues;
  }
  assert.fail('expected a ConfigError');
}

test('example files load', () => {
  const ex = loadConfig('config/metanode.example.yaml', {});
  assert.equal(ex.network, 'mainnet');
  assert.equal(ex.chain.source, 'bitcoind');
  assert.equal(ex.keystore.scryptN, 32768);
  // Under systemd the passphrase arrives as the credential, not from a file named here.
  assert.equal(ex.keystore.passphraseFile, undefined);
  assert.equal(ex.keystore.passphraseEnv, 'METANODE_PASSPHRASE');
  assert.equal(ex.stake.minSats, 1_000_000n);
  assert.equal(ex.custody.rewardMinPayoutSats, 10_000n);
  assert.equal(ex.custody.rewardSats, undefined);
  assert.equal(ex.custody.finalityDepth, 6);
  assert.deepEqual(ex.p2p.listen, ['/ip4/0.0.0.0/tcp/4001']);
  assert.ok(ex.source?.endsWith('config/metanode.example.yaml'));

  const reg = loadConfig(join(process.cwd(), 'config/regtest.example.yaml'), {}, { cwd: '/srv' });
  assert.equal(reg.network, 'regtest');
  assert.equal(reg.chain.source, 'esplora');
  assert.equal(reg.chain.esploraUrl, 'http://127.0.0.1:3002');
  assert.equal(reg.dataDir, '/srv/node1');
  assert.equal(reg.keystore.dir, '/srv/node1/keys');
  assert.equal(reg.stake.minSats, 100_000n);
  assert.equal(reg.http.port, 9181);
  assert.equal(reg.custody.finalityDepth, 2, 'regtest default');

  const dev = loadConfig('config/devnet.yaml', {});
  assert.equal(dev.network, 'regtest');
  assert.equal(dev.schedule.signing, '*/10 * * * * *');
  assert.equal(dev.keystore.scryptN, 1024);
  assert.equal(dev.keystore.passphraseEnv, 'METANODE_PASSPHRASE');
});

test('defaults and resolved paths', () => {
  const c = parseConfig(ESPLORA, {}, { cwd: '/srv/x' });
  assert.equal(c.network, 'regtest');
  assert.equal(c.dataDir, '/srv/x/data');
  assert.equal(c.keystore.dir, '/srv/x/data/keys');
  assert.equal(c.keystore.passphraseEnv, 'METANODE_PASSPHRASE');
  assert.equal(c.p2p.pingIntervalMs, 3000);
  assert.equal(c.stake.minAgeHours, 72);
  assert.equal(c.blocklist.hours, 72);
  assert.equal(c.replication.limit, 100);
  assert.equal(c.custody.finalityDepth, 2, 'small on regtest');
  assert.equal(parseConfig({ ...ESPLORA, network: 'signet' }, {}, { cwd: '/srv/x' }).custody.finalityDepth, 6);
  assert.equal(parseConfig({ ...ESPLORA, custody: { finalityDepth: 4 } }, {}, { cwd: '/srv/x' }).custody.finalityDepth, 4);
  assert.equal(parseConfig(ESPLORA, { METANODE_CUSTODY_FINALITY_DEPTH: '9' }, { cwd: '/srv/x' }).custody.finalityDepth, 9);
  assert.equal(c.http.host, '127.0.0.1');
  assert.equal(c.schedule.keygen, '*/5 * * * *');
  assert.equal(c.schedule.regroup, '0 0 * * *');
  assert.equal(c.committee.threshold, undefined);
  assert.equal(c.chain.pollMs, 5000);
  assert.equal(c.chain.mempoolRescanMs, 10_000);
  assert.equal(c.custody.minConfirmations, 3);
  assert.equal(c.source, null);
});

test('each bad field gives a message naming its path', () => {
  const cases: Array<[unknown, string]> = [
    [{ ...ESPLORA, p2p: { listen: ['foo'] } }, 'config error: p2p.listen[0]: invalid multiaddr "foo"'],
    [{ ...ESPLORA, p2p: { bootstrap: ['/ip4/1.2.3.4/tcp/1'] } }, 'config error: p2p.bootstrap[0]: bootstrap multiaddr "/ip4/1.2.3.4/tcp/1" must end with /p2p/<peer id>'],
    [{ ...ESPLORA, network: 'moonnet' }, 'config error: network: expected one of regtest|testnet|signet|mainnet, got "moonnet"'],
    [{ ...ESPLORA, http: { port: 70000 } }, 'config error: http.port: must be <= 65535'],
    [{ ...ESPLORA, http: { host: '0.0.0.0' } }, 'config error: http.host: must be a loopback address (127.0.0.1, ::1, localhost), got "0.0.0.0"'],
    [{ ...ESPLORA, schedule: { signing: '61 * * * * *' } }, 'config error: schedule.signing: invalid cron expression "61 * * * * *"'],
    [{ ...ESPLORA, schedule: { signing: '*/8 * * * * *' } }, 'config error: schedule.signing: "*/8 * * * * *" fires at uneven intervals (8 s, then 4 s after 00:00:56 UTC); rounds are numbered by a fixed period, so use an interval that divides a minute (or an hour, or a day) evenly'],
    [{ ...ESPLORA, schedule: { signing: '5,15,25,35,45,55 * * * * *' } }, 'config error: schedule.signing: "5,15,25,35,45,55 * * * * *" fires every 10 s but not on multiples of 10 s since midnight UTC'],
    [{ ...ESPLORA, schedule: { keygenUntil: 'tomorrow' } }, 'config error: schedule.keygenUntil: invalid ISO date "tomorrow"'],
    [{ ...ESPLORA, stake: { txid: 'ab', vout: 0 } }, 'config error: stake.txid: expected a 64-char lowercase hex txid, got "ab"'],
    [{ ...ESPLORA, stake: { minSats: 1.5 } }, 'config error: stake.minSats: expected a whole number of sats, got 1.5'],
    [{ ...ESPLORA, stake: { txid: 'a'.repeat(64) } }, 'config error: stake: txid and vout must be set together'],
    [{ ...ESPLORA, custody: { minConfirmations: 0 } }, 'config error: custody.minConfirmations: must be >= 1: a deposit counts only once it is in a block'],
    [{ ...ESPLORA, custody: { finalityDepth: 0 } }, 'config error: custody.finalityDepth: must be >= 1: a payout is final at the earliest once it is in a block'],
    [{ ...ESPLORA, chain: { esploraUrl: 'http://x', mempoolRescanMs: -1 } }, 'config error: chain.mempoolRescanMs: must be >= 0'],
    [{ ...ESPLORA, chain: { esploraUrl: 'http://x', mempoolRescanMs: 1.5 } }, 'config error: chain.mempoolRescanMs: expected an integer, got 1.5'],
    [{ ...ESPLORA, custody: { feeRateMin: 10, feeRateMax: 5 } }, 'config error: custody.feeRateMin: feeRateMin must not exceed feeRateMax'],
    [{ ...ESPLORA, replication: { minSleepMs: 10, maxSleepMs: 5 } }, 'config error: replication.minSleepMs: minSleepMs must not exceed maxSleepMs'],
    [{ ...ESPLORA, committee: { max: 4, threshold: 5 } }, 'config error: committee.threshold: threshold must not exceed max'],
    [{ ...ESPLORA, p2p: { pingIntervalMs: 5000, peerTimeoutMs: 4000 } }, 'config error: p2p.peerTimeoutMs: peerTimeoutMs must be larger than pingIntervalMs'],
    [{ ...ESPLORA, keystore: { passphraseFile: '/x', passphraseEnv: 'X' } }, 'config error: keystore: set passphraseFile or passphraseEnv, not both'],
    [{ ...ESPLORA, keystore: { scryptN: 3000 } }, 'config error: keystore.scryptN: must be a power of two'],
    [{ ...ESPLORA, network: 'mainnet', keystore: { scryptN: 1024 } }, 'config error: keystore.scryptN: must be >= 32768 on mainnet'],
    [{ chain: {} }, 'config error: chain.esploraUrl: required when chain.source is "esplora"'],
    [{ chain: { source: 'bitcoind', bitcoind: { url: 'http://127.0.0.1:8332' } } }, 'config error: chain.bitcoind: needs user and password, or cookieFile'],
    [{ chain: { source: 'bitcoind', bitcoind: { user: 'u', password: 'p' } } }, 'config error: chain.bitcoind.url: required when chain.source is "bitcoind"'],
    [{ chain: { esploraUrl: 'ftp://x' } }, 'config error: chain.esploraUrl: invalid http(s) URL "ftp://x"'],
    [{ ...ESPLORA, log: { level: 'loud' } }, 'config error: log.level: expected one of fatal|error|warn|info|debug|trace|silent, got "loud"'],
    [{ ...ESPLORA, p2p: { maxConnections: 'many' } }, 'config error: p2p.maxConnections: expected an integer, got "many"'],
    [{ ...ESPLORA, clock: 5 }, 'config error: clock: expected object, got 5'],
  ];
  for (const [input, expected] of cases) {
    const issues = issuesOf(() => parseConfig(input, {}));
    assert.ok(issues.includes(expected), `for ${JSON.stringify(input)}\n  expected: ${expected}\n  got: ${issues.join(' | ')}`);
  }
});

test('all problems are reported at once', () => {
  const issues = issuesOf(() => parseConfig({ ...ESPLORA, http: { port: -1 }, p2p: { listen: ['x'] }, network: 1 }, {}));
  assert.equal(issues.length, 3);
});

test('unknown keys are rejected with a hint', () => {
  assert.deepEqual(issuesOf(() => parseConfig({ ...ESPLORA, htp: { port: 1 } }, {})), ['config error: htp: unknown key (did you mean "http"?)']);
  assert.deepEqual(issuesOf(() => parseConfig({ ...ESPLORA, http: { prot: 1 } }, {})), ['config error: http.prot: unknown key (did you mean "port"?)']);
  assert.deepEqual(issuesOf(() => parseConfig({ ...ESPLORA, chain: { esploraUrl: 'http://x', bitcoind: { zzz: 1 } } }, {})), [
    'config error: chain.bitcoind.zzz: unknown key',
  ]);
});

test('environment overrides apply and are typed', () => {
  const c = parseConfig(ESPLORA, {
    METANODE_HTTP_PORT: '9000',
    METANODE_CHAIN_ESPLORAURL: 'http://127.0.0.1:4000',
    METANODE_NETWORK: 'signet',
    METANODE_P2P_BOOTSTRAP: '/ip4/10.0.0.1/tcp/1/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp, /ip4/10.0.0.2/tcp/2/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp',
    METANODE_STAKE_MINSATS: '5000',
    METANODE_LOG_LEVEL: 'debug',
    METANODE_PASSPHRASE: 'not-a-config-key',
    METANODE_CONFIG: '/etc/metanode/metanode.yaml',
  });
  assert.equal(c.http.port, 9000);
  assert.equal(c.chain.esploraUrl, 'http://127.0.0.1:4000');
  assert.equal(c.network, 'signet');
  assert.equal(c.p2p.bootstrap.length, 2);
  assert.equal(c.stake.minSats, 5000n);
  assert.equal(c.log.level, 'debug');
});

test('env names may split camelCase keys with underscores; CLI flags win over env and file', () => {
  const c = parseConfig(
    { ...ESPLORA, dataDir: '/from/file', keystore: { passphraseEnv: 'X_PASS' } },
    { METANODE_DATA_DIR: '/from/env', METANODE_CHAIN_ESPLORA_URL: 'http://127.0.0.1:4001', METANODE_HTTP_BODY_LIMIT_BYTES: '4096', METANODE_P2P_PEER_TIMEOUT_MS: '20000', METANODE_KEYSTORE_SCRYPT_N: '2048' },
    { cwd: '/' },
  );
  assert.equal(c.dataDir, '/from/env');
  assert.equal(c.chain.esploraUrl, 'http://127.0.0.1:4001');
  assert.equal(c.http.bodyLimitBytes, 4096);
  assert.equal(c.p2p.peerTimeoutMs, 20000);
  assert.equal(c.keystore.scryptN, 2048);
  assert.equal(parseConfig(ESPLORA, { METANODE_CHAIN_MEMPOOL_RESCAN_MS: '0' }).chain.mempoolRescanMs, 0);
  const flags = parseConfig({ ...ESPLORA, keystore: { passphraseEnv: 'X_PASS' } }, { METANODE_DATA_DIR: '/from/env' }, { cwd: '/', overrides: { dataDir: '/from/flag', passphraseFile: '/etc/p' } });
  assert.equal(flags.dataDir, '/from/flag');
  assert.equal(flags.keystore.dir, '/from/flag/keys');
  assert.equal(flags.keystore.passphraseFile, '/etc/p');
  assert.deepEqual(issuesOf(() => parseConfig(ESPLORA, { METANODE_CHAIN_ESPLORA_URLX: 'x' })), [
    'config error: environment METANODE_CHAIN_ESPLORA_URLX: no config key chain.esplora_urlx (known: source, esploraUrl, bitcoind, pollMs, mempoolRescanMs)',
  ]);
});

test('nested env override and env errors name the variable', () => {
  const c = parseConfig({ chain: { source: 'bitcoind', bitcoind: { url: 'http://127.0.0.1:8332', user: 'u' } } }, { METANODE_CHAIN_BITCOIND_PASSWORD: 'pw' });
  assert.equal(c.chain.bitcoind.password, 'pw');
  assert.deepEqual(issuesOf(() => parseConfig(ESPLORA, { METANODE_HTTP_PORT: 'abc' })), [
    'config error: http.port (from METANODE_HTTP_PORT): expected an integer, got "abc"',
  ]);
  const typo = issuesOf(() => parseConfig(ESPLORA, { METANODE_HTTP_PROT: '1' }));
  assert.equal(typo.length, 1);
  assert.match(typo[0]!, /^config error: environment METANODE_HTTP_PROT: no config key http\.prot/);
});

test('file errors: missing file, bad YAML, duplicate key, JSON file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-cfg-'));
  try {
    assert.match(issuesOf(() => loadConfig(join(dir, 'nope.yaml'), {}))[0]!, /cannot read .*nope\.yaml: no such file/);
    writeFileSync(join(dir, 'bad.yaml'), 'http:\n  port: [1,\n');
    assert.match(issuesOf(() => loadConfig(join(dir, 'bad.yaml'), {}))[0]!, /^config error: .*bad\.yaml:\d+:\d+: /);
    writeFileSync(join(dir, 'dup.yaml'), 'http:\n  port: 1\n  port: 2\n');
    assert.match(issuesOf(() => loadConfig(join(dir, 'dup.yaml'), {}))[0]!, /dup\.yaml.*unique|dup\.yaml.*[Dd]uplicate/);
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    assert.match(issuesOf(() => loadConfig(join(dir, 'list.yaml'), {}))[0]!, /must hold a mapping of sections/);
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ ...ESPLORA, dataDir: 'state', http: { port: 1234 } }));
    const c = loadConfig(join(dir, 'c.json'), {}, { cwd: dir });
    assert.equal(c.http.port, 1234);
    assert.equal(c.dataDir, join(dir, 'state'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
