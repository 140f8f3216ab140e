import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_CONFIG, EXIT_DOPPELGANGER, EXIT_SHARE_INCONSISTENCY } from '../../src/cli/exit-codes.js';

const unit = readFileSync('systemd/metanode.service', 'utf8');
const directives = new Map<string, string[]>();
for (const line of unit.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
  if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
}
const one = (k: string) => directives.get(k)?.at(-1);

test('the unit does not restart on the exit codes the node uses for share inconsistency and bad config', () => {
  assert.equal(one('Restart'), 'on-failure');
  assert.deepEqual(one('RestartPreventExitStatus')!.split(/\s+/).map(Number).sort(), [EXIT_SHARE_INCONSISTENCY, EXIT_DOPPELGANGER, EXIT_CONFIG].sort());
});

test('the unit is sandboxed and leaves W+X memory allowed for V8', () => {
  for (const [k, v] of Object.entries({
    User: 'metanode',
    Group: 'metanode',
    StateDirectory: 'metanode',
    ConfigurationDirectory: 'metanode',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    NoNewPrivileges: 'yes',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
    CapabilityBoundingSet: '',
    LockPersonality: 'yes',
    RestrictRealtime: 'yes',
    RestrictNamespaces: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectKernelLogs: 'yes',
    ProtectControlGroups: 'yes',
    UMask: '0077',
  }))
    assert.equal(one(k), v, k);
  assert.equal(directives.get('SystemCallFilter')![0], '@system-service');
  assert.ok(Number(one('LimitNOFILE')) >= 4096);
  assert.equal(directives.has('MemoryDenyWriteExecute'), false);
  assert.match(unit, /# Not MemoryDenyWriteExecute=yes: V8's JIT/);
});

test('the unit has what the operator section promises: dedicated user, state dir, sandbox, credential, no-restart exit codes', () => {
  assert.equal(one('User'), 'metanode');
  assert.equal(one('StateDirectory'), 'metanode');
  assert.equal(one('StateDirectoryMode'), '0700');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('ProtectHome'), 'yes');
  assert.equal(one('PrivateTmp'), 'yes');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('LoadCredential'), 'passphrase:/etc/metanode/passphrase');
  // The build output, not TypeScript through tsx.
  assert.match(one('ExecStart')!, /^\/usr\/bin\/node \/opt\/metanode\/dist\/src\/cli\/main\.js --config \/etc\/metanode\/metanode\.yaml start$/);
  assert.equal(one('SyslogLevelPrefix'), 'yes');
  assert.ok(directives.get('Environment')!.includes('METANODE_LOG_FORMAT=journal'));
  assert.ok(one('RestartPreventExitStatus')!.split(/\s+/).includes(String(EXIT_SHARE_INCONSISTENCY)));
});

test('systemd-analyze verify accepts the unit without a warning', (t) => {
  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' });
  if (which.status !== 0) {
    t.skip('systemd-analyze is not installed here (apt-get install systemd); the static checks above still ran');
    return;
  }
  // verify warns about unknown keys and bad values on stderr but still exits 0: both must be clean.
  const r = spawnSync('systemd-analyze', ['verify', 'systemd/metanode.service'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', r.stderr);
});

test('systemd-analyze verify is not vacuous: it reports a broken unit', (t) => {
  if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0) {
    t.skip('systemd-analyze is not installed here');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'metanode-unit-'));
  try {
    const bad = join(dir, 'bad.service');
    writeFileSync(bad, unit.replace('Restart=on-failure', 'Restart=on-failure\nRestartPreventExitStatus=sixty-five\nProtectSystm=strict'));
    const r = spawnSync('systemd-analyze', ['verify', bad], { encoding: 'utf8', timeout: 60_000 });
    assert.match(r.stderr, /Unknown key( name)? 'ProtectSystm'/);
    assert.match(r.stderr, /sixty-five/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
