import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram, devnetOptions, main, type CliIo, type DevnetFlags } from '../../src/cli/main.js';
import { EXAMPLES } from '../../src/cli/help.js';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { fakeNode, STATUS, PEER_B } from '../api/fake-node.js';

let server: ApiServer;
let api: string;
const tmp = mkdtempSync(join(tmpdir(), 'metanode-main-'));

before(async () => {
  server = createApiServer({ api: fakeNode(), port: 0 });
  api = (await server.listen()).url;
});
after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env, cwd: tmp };
  const code = await main(args, io);
  return { code, out, err };
}

test('read command prints a table, or JSON with --json', async () => {
  const t = await run(['--api', api, 'peers']);
  assert.equal(t.code, 0);
  assert.match(t.out, /^PEER\s+STATE\s+SEN/);
  assert.ok(t.out.includes(PEER_B));
  const j = await run(['--api', api, '--json', 'status']);
  assert.equal(j.code, 0);
  assert.deepEqual(JSON.parse(j.out), STATUS);
  // The API URL can come from the environment or from the config's http section.
  assert.equal((await run(['status'], { METANODE_API: api })).code, 0);
  const cfg = join(tmp, 'c.yaml');
  writeFileSync(cfg, `chain:\n  esploraUrl: http://127.0.0.1:1\nhttp:\n  port: ${new URL(api).port}\n`);
  assert.equal((await run(['--config', cfg, '--json', 'status'])).code, 0);
});

test('exit codes: usage 2, node down 1 with a clear message, config error 78', async () => {
  const usage = await run(['rounds', '--limit', 'x']);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /--limit must be a whole number/);
  assert.equal((await run(['nope'])).code, 2);
  assert.equal((await run(['request', '--amount', '5'])).code, 2);
  assert.equal((await run(['--api', api, 'round', 'abc'])).code, 2);

  const closed = createApiServer({ api: fakeNode(), port: 0 });
  const closedUrl = (await closed.listen()).url;
  await closed.close();
  const down = await run(['--api', closedUrl, 'status']);
  assert.equal(down.code, 1);
  assert.ok(down.err.startsWith(`error: NODE_UNREACHABLE: cannot reach the node API at ${closedUrl} (connection refused). Is the node running`), down.err);
  // fetch refuses some ports outright; the cause still reaches the message.
  assert.match((await run(['--api', 'http://127.0.0.1:1', 'status'])).err, /cannot reach the node API at http:\/\/127\.0\.0\.1:1 \(bad port\)/);

  const bad = join(tmp, 'bad.yaml');
  writeFileSync(bad, 'p2p:\n  listen: [foo]\nhttp:\n  prot: 1\n');
  const cfg = await run(['--config', bad, 'status']);
  assert.equal(cfg.code, 78);
  assert.equal(
    cfg.err,
    'config error: chain.esploraUrl: required when chain.source is "esplora"\nconfig error: p2p.listen[0]: invalid multiaddr "foo"\nconfig error: http.prot: unknown key (did you mean "port"?)\n',
  );
  // A config file that does not exist is an error for every command but init (which writes it).
  const missing = await run(['--config', join(tmp, 'missing.yaml'), 'start']);
  assert.equal(missing.code, 78);
  assert.equal(missing.err, `config error: cannot read ${join(tmp, 'missing.yaml')}: no such file\n`);
  assert.equal((await run(['--help'])).code, 0);
});

test('init through main prints the peer id', async () => {
  const cfg = join(tmp, 'init.yaml');
  writeFileSync(cfg, `dataDir: ${join(tmp, 'data')}\nchain:\n  esploraUrl: http://127.0.0.1:1\nkeystore:\n  scryptN: 1024\n`);
  const r = await run(['--config', cfg, 'init'], { METANODE_PASSPHRASE: 'a long enough passphrase' });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^created identity 12D3KooW\w+\n/);
  const again = await run(['--config', cfg, '--json', 'init'], { METANODE_PASSPHRASE: 'a long enough passphrase' });
  assert.equal(JSON.parse(again.out).created, false);
  const noPass = await run(['--config', cfg, 'init']);
  assert.equal(noPass.code, 78);
  assert.match(noPass.err, /no keystore passphrase/);
});

test('`npx metanode` works right after npm ci: the bin is declared and executable; production runs the build, so its source loader is a development dependency', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  assert.equal(pkg.bin.metanode, 'bin/metanode.js');
  assert.ok(statSync('bin/metanode.js').mode & 0o100, 'bin/metanode.js is executable');
  const bin = readFileSync('bin/metanode.js', 'utf8');
  assert.match(bin, /^#!\/usr\/bin\/env node\n/);
  // npm ci installs dev dependencies: without a build the bin runs the sources through tsx.
  // A production install (npm run build, then npm prune --omit=dev) runs dist/ and has no tsx;
  // without either the bin says to build instead of failing on a missing package.
  assert.ok(pkg.devDependencies?.tsx, 'tsx is a devDependency');
  assert.ok(!pkg.dependencies.tsx, 'tsx is not a production dependency');
  assert.match(bin, /tsx is not installed: run \\`npm run build\\`/);
});

test('bin/metanode.js --help works from source', () => {
  const r = spawnSync(process.execPath, ['bin/metanode.js', '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Usage: metanode \[options\] \[command\]/);
  assert.match(r.stdout, /verify-epoch/);
});

test('devnet options are checked before anything starts', async () => {
  const many = await run(['devnet', '--nodes', '16']);
  assert.equal(many.code, 2);
  assert.match(many.err, /--nodes must be a whole number between 1 and 15/);
  assert.equal((await run(['devnet', '--duration', '0'])).code, 2);
  assert.equal((await run(['devnet', '--until-paid', 'x'])).code, 2);
  assert.match((await run(['devnet', '--help'])).out, /--data-dir <path>.*\n(.*\n)*.*--until-paid <n>/);
});

test('every --help example uses only options its command (or the program) has', () => {
  const program = buildProgram({ stdout: () => {}, stderr: () => {}, env: {}, cwd: tmp }, () => {});
  const longs = (c: Command) => new Set(c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)));
  const global = longs(program);
  for (const [name, examples] of Object.entries(EXAMPLES)) {
    assert.ok(name === 'metanode' || program.commands.some((c) => c.name() === name), `examples for unknown command ${name}`);
    for (const ex of examples) {
      // the metanode invocation only: no env prefix, no pipe or redirect, no trailing comment
      const words = ex.replace(/#.*$/, '').split(/\s*[|>]\s*/)[0]!.trim().split(/\s+/);
      const start = words.indexOf('metanode');
      assert.ok(start >= 0, ex);
      const cmd = program.commands.find((c) => words.slice(start + 1).includes(c.name()));
      assert.ok(cmd && (name === 'metanode' || cmd.name() === name), `${name} example "${ex}" names no (or another) command`);
      const own = longs(cmd);
      for (const w of words.slice(start + 1)) {
        if (!w.startsWith('-')) continue;
        const flag = w.split('=')[0]!;
        assert.ok(own.has(flag) || global.has(flag) || flag === '--help', `${name} example "${ex}": unknown option ${flag}`);
      }
    }
  }
});

test('devnet --data-dir reaches the devnet wherever it is written (it is also a program-wide option)', async () => {
  const seen: unknown[] = [];
  for (const argv of [['devnet', '--data-dir', '/tmp/dn-a', '--until-paid', '2'], ['--data-dir', '/tmp/dn-b', 'devnet', '--resume', '--chain', 'bitcoind']]) {
    const program = buildProgram({ stdout: () => {}, stderr: () => {}, env: {}, cwd: tmp }, () => {});
    const devnet = program.commands.find((c) => c.name() === 'devnet')!;
    devnet.action((o: DevnetFlags, c: Command) => void seen.push(devnetOptions(o, c.optsWithGlobals())));
    await program.parseAsync(argv, { from: 'user' });
  }
  assert.deepEqual(seen, [
    { nodes: undefined, durationSec: undefined, dataDir: '/tmp/dn-a', fresh: undefined, untilPaid: 2, basePort: undefined, blockIntervalMs: undefined, chain: 'esplora', config: undefined },
    { nodes: undefined, durationSec: undefined, dataDir: '/tmp/dn-b', fresh: false, untilPaid: undefined, basePort: undefined, blockIntervalMs: undefined, chain: 'bitcoind', config: undefined },
  ]);
  const program = buildProgram({ stdout: () => {}, stderr: () => {}, env: {}, cwd: tmp }, () => {});
  await assert.rejects(program.parseAsync(['devnet', '--chain', 'electrum'], { from: 'user' }), /argument 'electrum' is invalid. Allowed choices are esplora, bitcoind/);
});
