// A real Prometheus (Debian package `prometheus`) scraping a 3-node federation with the shipped
// alert rules sees MetanodeDown fire for the node that was stopped, and only for it. Intervals
// are shortened for the test: scrape and evaluation every second, every rule's `for` 2 s (the
// rule expressions are the shipped ones). Prometheus listens on a loopback port below 32768.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFederation, waitFor, withTimeout, type Federation } from './harness.js';
import { requireBinary } from '../support/promtool.js';

let fed: Federation | undefined;
let prom: ChildProcess | undefined;
after(async () => {
  await stopProcess(prom);
  await fed?.stop();
});

async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000).unref())]);
  if (p.exitCode === null && p.signalCode === null) {
    p.kill('SIGKILL');
    await gone;
  }
}

/** A free loopback port in 20000..32767 (outside the ephemeral range other tests draw from). */
async function lowPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 20000..32767');
}

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

test('Prometheus scraping 3 nodes fires MetanodeDown for the stopped node only', { timeout: 180_000 }, async () => {
  const bin = requireBinary('prometheus');
  fed = await startFederation({ n: 3 });
  const targets = fed.nodes.map((n) => new URL(n.running!.apiUrl).host);

  const dir = join(fed.dir, 'prometheus');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const shipped = readFileSync(fileURLToPath(new URL('../../contrib/prometheus/metanode-alerts.yml', import.meta.url)), 'utf8');
  const rules = shipped.replace(/^(\s+)for: \S+$/gm, '$1for: 2s');
  assert.notEqual(rules, shipped);
  writeFileSync(join(dir, 'metanode-alerts.yml'), rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }',
      'rule_files: [metanode-alerts.yml]',
      'scrape_configs:',
      '  - job_name: metanode',
      `    static_configs: [{ targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const port = await lowPort();
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  prom = spawn(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prom.stdout!.on('data', (b: Buffer) => void (log += b.toString()));
  prom.stderr!.on('data', (b: Buffer) => void (log += b.toString()));
  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(base + path, { signal: AbortSignal.timeout(3_000) });
    return ((await r.json()) as { data: T }).data;
  };

  try {
    // Every node scraped and up.
    await waitFor(async () => {
      const t = await api<{ activeTargets: Array<{ labels: { instance: string }; health: string }> }>('/api/v1/targets');
      return t.activeTargets.length === 3 && t.activeTargets.every((x) => x.health === 'up');
    }, 60_000, 'Prometheus to scrape all 3 nodes');
    const series = await api<Array<{ instance: string }>>(`/api/v1/series?match[]=${encodeURIComponent('metanode_build_info')}`);
    assert.equal(series.length, 3);

    const down = fed.nodes[1]!;
    const downTarget = targets[1]!;
    await withTimeout(down.stop(), 20_000, 'stopping node-2');
    const fired = await waitFor(async () => {
      const a = await api<{ alerts: Alert[] }>('/api/v1/alerts');
      const f = a.alerts.filter((x) => x.labels.alertname === 'MetanodeDown' && x.state === 'firing');
      return f.length > 0 ? f : undefined;
    }, 60_000, 'MetanodeDown to fire');
    assert.deepEqual(
      fired.map((a) => a.labels.instance),
      [downTarget],
    );
    assert.equal(fired[0]!.labels.severity, 'critical');
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- prometheus log (tail) ---\n${log.split('\n').slice(-30).join('\n')}`);
  }
});
