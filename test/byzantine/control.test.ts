// The chaos harness's control endpoint (test/support/byzantine/control.ts), the validation of the
// test node's own settings (METANODE_TEST_NODE), and that the production config refuses any
// test section.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { Byzantine } from '../support/byzantine/modes.js';
import { startTestControl, type TestControl } from '../support/byzantine/control.js';
import { readTestNodeSettings, TEST_NODE_ENV } from '../support/byzantine/node.js';
import { silentLogger } from '../../src/util/log.js';

describe('the production config has no test section', () => {
  it('refuses a `testing` section as an unknown key, on every network', () => {
    const base = { chain: { esploraUrl: 'http://127.0.0.1:3002' } };
    for (const network of ['regtest', 'signet', 'testnet', 'mainnet']) {
      assert.throws(
        () => parseConfig({ ...base, network, testing: { byzantine: 'garbage', controlPort: 48201 } }),
        (e) => e instanceof ConfigError && e.issues.some((i) => /testing: unknown key/.test(i)),
        network,
      );
    }
  });
});

describe('test node settings (METANODE_TEST_NODE)', () => {
  it('defaults when absent; the values given otherwise', () => {
    assert.deepEqual(readTestNodeSettings({}), { byzantine: 'none', floodCount: 200, epochAttacks: false });
    assert.deepEqual(readTestNodeSettings({ [TEST_NODE_ENV]: '{"byzantine":"flood","floodCount":50,"epochAttacks":true}' }), { byzantine: 'flood', floodCount: 50, epochAttacks: true });
  });

  it('names non-JSON, a bad mode, a bad count and an unknown key', () => {
    const bad: Array<[string, RegExp]> = [
      ['{nope', /METANODE_TEST_NODE is not JSON/],
      ['{"byzantine":"evil"}', /METANODE_TEST_NODE: byzantine: /],
      ['{"floodCount":0}', /METANODE_TEST_NODE: floodCount: /],
      ['{"controlPort":1}', /METANODE_TEST_NODE: .*controlPort/],
    ];
    for (const [raw, msg] of bad) assert.throws(() => readTestNodeSettings({ [TEST_NODE_ENV]: raw }), msg, raw);
  });
});

describe('test control endpoint', () => {
  let control: TestControl;
  let partition: string[] = [];
  const byzantine = new Byzantine({
    peerId: 'self', network: 'regtest', mode: 'none', floodCount: 2, roundMs: 15_000, now: Date.now,
    publish: async () => 0, publishRaw: async () => 0, subscribe: () => () => {}, log: silentLogger,
  });
  before(async () => {
    control = await startTestControl({ peerId: 'self', byzantine, setPartition: async (p) => void (partition = p), partition: () => partition }, 0, silentLogger);
  });
  after(() => control.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(control.url + path, { method, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('listens on loopback only', () => {
    assert.match(control.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('sets and heals a partition (never against itself) and switches the Byzantine mode', async () => {
    assert.deepEqual((await call('GET', '/v1/test/state')).body, { peerId: 'self', byzantine: 'none', partition: [], actions: {} });
    let r = await call('POST', '/v1/test/partition', { peers: ['b', 'self', 'c'] });
    assert.equal(r.status, 200);
    assert.deepEqual(partition, ['b', 'c']);
    assert.deepEqual(r.body.partition, ['b', 'c']);
    r = await call('POST', '/v1/test/byzantine', { mode: 'flood' });
    assert.equal(r.body.byzantine, 'flood');
    assert.equal(byzantine.mode, 'flood');
    r = await call('POST', '/v1/test/partition', { peers: [] });
    assert.deepEqual(partition, []);
  });

  it('refuses malformed bodies and unknown routes with a reason', async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/v1/test/partition', '{nope', 400, /not JSON/],
      ['POST', '/v1/test/partition', { peers: 'b' }, 400, /^peers: /],
      ['POST', '/v1/test/partition', { peers: [], extra: 1 }, 400, /extra/],
      ['POST', '/v1/test/byzantine', { mode: 'evil' }, 400, /^mode: /],
      ['GET', '/v1/test/partition', undefined, 404, /no test control route GET \/v1\/test\/partition/],
      ['POST', '/v1/status', {}, 404, /no test control route/],
    ];
    for (const [method, path, body, status, msg] of cases) {
      const r = await call(method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(String(r.body.error), msg);
    }
    assert.equal(byzantine.mode, 'flood', 'a refused request changed nothing');
  });
});
