// Built once, run compiled: the TypeScript build (tsconfig.build.json) laid out as an install
// (package.json, bin/, config/, dist/, node_modules) runs every kind of command without tsx:
// --version with the commit, init, keys, the devnet's config file, and `start` of a node that
// answers /health and stops cleanly on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort } from '../support/ports.js';
import { waitFor } from '../../src/util/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'metanode-build-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const pkg = join(tmp, 'install');
const bin = join(pkg, 'bin', 'metanode.js');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: tmp, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the build output runs every command: --version, init, keys, devnet config, start/health/stop', { timeout: 600_000 }, async () => {
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  copyFileSync(join(ROOT, 'bin', 'metanode.js'), bin);
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(pkg, 'node_modules'));
  symlinkSync(join(ROOT, 'config'), join(pkg, 'config'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: ROOT, stdio: 'pipe', timeout: 540_000 });
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-info.mjs'), join(pkg, 'dist')], { cwd: ROOT, stdio: 'pipe' });

  // tsx is a development dependency (npm prune --omit=dev removes it): nothing built may load it.
  const loadsTsx = readdirSync(join(pkg, 'dist'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .filter((f) => /(?:from|import\()\s*['"]tsx(?:\/[^'"]*)?['"]/.test(readFileSync(join(pkg, 'dist', f), 'utf8')));
  assert.deepEqual(loadsTsx, [], 'compiled files that import tsx');
  const deps = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.equal(deps.dependencies.tsx, undefined, 'tsx is not a production dependency');
  assert.ok(deps.devDependencies.tsx);

  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const version = run(['--version']);
  assert.equal(version.code, 0, version.err);
  assert.equal(version.out.trim(), `0.1.0 (commit ${head})`);

  // init and a read command, from the build.
  const dataDir = join(tmp, 'data');
  const passFile = join(tmp, 'pass');
  writeFileSync(passFile, 'built-passphrase\n', { mode: 0o600 });
  const cfg = join(tmp, 'metanode.yaml');
  writeFileSync(
    cfg,
    [
      'network: regtest',
      `dataDir: ${dataDir}`,
      `keystore: { passphraseFile: ${passFile}, scryptN: 1024 }`,
      `chain: { source: esplora, esploraUrl: "http://127.0.0.1:${await closedPort()}", pollMs: 200 }`,
      "p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], doppelgangerIntervals: 0 }",
      'http: { port: 0 }',
      '',
    ].join('\n'),
  );
  const init = run(['--config', cfg, 'init', '--json']);
  assert.equal(init.code, 0, init.err);
  const peerId = JSON.parse(init.out).peerId as string;
  assert.match(peerId, /^12D3KooW/);
  const keys = run(['--config', cfg, '--offline', 'keys', '--json']);
  assert.equal(keys.code, 0, keys.err);

  // The devnet's base config resolves from the install root, not from dist/.
  const devnet = execFileSync(process.execPath, ['--input-type=module', '-e', `import { loadBaseConfig } from ${JSON.stringify(join(pkg, 'dist', 'src', 'devnet', 'node-config.js'))}; console.log(loadBaseConfig(undefined).network);`], { encoding: 'utf8' });
  assert.equal(devnet.trim(), 'regtest');

  // start: a real node from the build; /health answers; SIGTERM stops it with exit 0.
  const child = spawn(process.execPath, [bin, '--config', cfg, 'start'], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: tmp } });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => void (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => void (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  try {
    const api = await waitFor(() => /"api":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1], 60_000, 'the built node to start');
    const health = await fetch(`${api}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 503);
    const status = (await (await fetch(`${api}/v1/status`, { signal: AbortSignal.timeout(5_000) })).json()) as { peerId: string; version: string };
    assert.equal(status.peerId, peerId);
    assert.equal(status.version, '0.1.0');
    const metrics = await (await fetch(`${api}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    assert.ok(metrics.includes(`metanode_build_info{version="0.1.0",commit="${head}"} 1`), 'build info from the build');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
