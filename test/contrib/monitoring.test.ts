// The shipped monitoring: alert rules pass `promtool check rules` and their unit tests
// (`promtool test rules`), every dashboard query is valid PromQL, and rules and dashboard only
// name metrics an idle node exports.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMetrics } from '../../src/metrics.js';
import { registerNodeMetrics } from '../../src/node/metrics.js';
import { createApiServer } from '../../src/api/server.js';
import { openDb } from '../../src/store/db.js';
import { nodeMigrations } from '../../src/node/migrations.js';
import { fakeNode } from '../api/fake-node.js';
import { requireBinary } from '../support/promtool.js';

const contrib = fileURLToPath(new URL('../../contrib/', import.meta.url));
const rules = join(contrib, 'prometheus', 'metanode-alerts.yml');
const dashboard = JSON.parse(readFileSync(join(contrib, 'grafana', 'metanode-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
const tmp = mkdtempSync(join(tmpdir(), 'metanode-monitoring-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const promtool = (...args: string[]) => execFileSync(requireBinary('promtool'), args, { encoding: 'utf8', cwd: join(contrib, 'prometheus'), stdio: ['ignore', 'pipe', 'pipe'] });

test('promtool check rules accepts the alert rules', () => {
  assert.match(promtool('check', 'rules', rules), /SUCCESS: 8 rules found/);
});

test('promtool test rules: every alert fires on its condition and not on healthy nodes', () => {
  assert.match(promtool('test', 'rules', 'metanode-alerts.test.yml'), /SUCCESS/);
});

test('every dashboard query is valid PromQL', () => {
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  assert.ok(exprs.length >= 15);
  // promtool parses expressions in rule files: one recording rule per query.
  const file = join(tmp, 'dashboard-queries.yml');
  writeFileSync(file, ['groups:', '  - name: dashboard', '    rules:', ...exprs.flatMap((e, i) => [`      - record: dashboard:q${i}`, `        expr: ${JSON.stringify(e)}`])].join('\n') + '\n');
  assert.match(promtool('check', 'rules', file), new RegExp(`SUCCESS: ${exprs.length} rules found`));
});

test('rules and dashboard name only metrics an idle node exports', () => {
  const db = openDb(':memory:', nodeMigrations);
  try {
    const m = createMetrics({ defaultMetrics: false });
    registerNodeMetrics(m, {
      db,
      peers: () => [],
      depositStates: () => [],
      transferStates: () => [],
      blocklistSize: () => 0,
      build: { version: '0.0.0', commit: 'unknown' },
      chainTip: () => null,
      chainAnsweredAt: () => undefined,
      epoch: () => 0,
      committee: () => null,
      stakedPeers: () => ({ admitted: 0, connected: 0 }),
      shareHeld: () => false,
      stake: () => ({ valid: false, checkedAt: undefined }),
      clockSkewMs: () => null,
      now: Date.now,
    });
    createApiServer({ api: fakeNode(), metrics: m });
    const exported = new Set<string>();
    for (const f of m.registry.getMetricsAsArray()) {
      const name = (f as unknown as { name: string }).name;
      exported.add(name);
      for (const suffix of ['_bucket', '_count', '_sum']) exported.add(name + suffix);
    }
    const used = new Set<string>();
    const text = readFileSync(rules, 'utf8') + JSON.stringify(dashboard);
    for (const [name] of text.matchAll(/metanode_[a-z_]+/g)) used.add(name);
    const unknown = [...used].filter((n) => !exported.has(n));
    assert.deepEqual(unknown, []);
    assert.ok(used.size >= 15, [...used].join(' '));
  } finally {
    db.close();
  }
});
