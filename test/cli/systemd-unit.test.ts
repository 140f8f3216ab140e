import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EXIT_CONFIG, EXIT_SHARE_INCONSISTENCY } from '../../src/cli/exit-codes.js';

const unit = readFileSync('systemd/metanode.service', 'utf8');
const directives = new Map<string, string[]>();
for (const line of unit.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
  if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
}
const one = (k: string) => directives.get(k)?.at(-1);

test('the unit does not restart on the exit codes the node uses for share inconsistency and bad config', () => {
  assert.equal(one('Restart'), 'on-failure');
  assert.deepEqual(one('RestartPreventExitStatus')!.split(/\s+/).map(Number).sort(), [EXIT_SHARE_INCONSISTENCY, EXIT_CONFIG].sort());
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
