// A production node with the chaos harness's test behaviour around it: the Byzantine modes
// (modes.ts), the control endpoint (control.ts) and, when asked, the epoch attacks
// (test/chaos/epoch-attacker.ts). The node itself is the unchanged `startNode`; its config holds
// nothing of this. The test settings are their own validated input (METANODE_TEST_NODE, JSON),
// and the control endpoint's URL is written to <dataDir>/test-control.json for the harness.
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../../../src/config/schema.js';
import type { ResolvedPassphrase } from '../../../src/keystore/index.js';
import { startNode, type RunningNode } from '../../../src/node/index.js';
import type { NodeContext } from '../../../src/node/context.js';
import { rewritingOutbound, signAsNode } from '../outbound.js';
import { attachEpochAttacks } from '../../chaos/epoch-attacker.js';
import { BYZANTINE_MODES, Byzantine } from './modes.js';
import { startTestControl } from './control.js';
import { publishRaw } from './raw.js';

export const TEST_NODE_ENV = 'METANODE_TEST_NODE';

export const testNodeSettingsSchema = z.strictObject({
  /** The Byzantine mode at start (the control endpoint switches it at run time). */
  byzantine: z.enum(['none', ...BYZANTINE_MODES]).default('none'),
  /** Messages per burst in the flood mode. */
  floodCount: z.int().min(1).max(10_000).default(200),
  /** Attach the epoch attacks (switched by a file in the data directory). */
  epochAttacks: z.boolean().default(false),
});
export type TestNodeSettings = z.output<typeof testNodeSettingsSchema>;

/** The settings from METANODE_TEST_NODE (absent: the defaults); an invalid value throws naming each problem. */
export function readTestNodeSettings(env: Record<string, string | undefined>): TestNodeSettings {
  const raw = env[TEST_NODE_ENV];
  let json: unknown = {};
  if (raw !== undefined && raw.trim() !== '') {
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${TEST_NODE_ENV} is not JSON: ${(e as Error).message}`);
    }
  }
  const r = testNodeSettingsSchema.safeParse(json);
  if (!r.success) throw new Error(`${TEST_NODE_ENV}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export const controlFile = (dataDir: string) => join(dataDir, 'test-control.json');

export interface TestNodeOptions {
  passphrase?: ResolvedPassphrase;
  env?: Record<string, string | undefined>;
}

/** Starts the production node, then its Byzantine behaviour and control endpoint (port 0, loopback). */
export async function startTestNode(config: Config, settings: TestNodeSettings, opts: TestNodeOptions = {}): Promise<RunningNode> {
  rmSync(controlFile(config.dataDir), { force: true }); // a killed run's URL is stale
  let byzantine: Byzantine | undefined;
  let running: NodeContext | undefined;
  let own!: Parameters<typeof rewritingOutbound>[0];
  const node = await startNode(config, {
    ...opts,
    outbound: (port) => {
      own = port;
      return rewritingOutbound(port, () => byzantine && ((type, payload, _to, at) => byzantine!.outgoing(type, payload, at)), () => running);
    },
  });
  const { ctx } = node;
  const log = ctx.log.child({ module: 'byzantine' });
  byzantine = new Byzantine({
    peerId: ctx.peerId,
    network: config.network,
    mode: settings.byzantine,
    floodCount: settings.floodCount,
    roundMs: ctx.roundMs,
    now: ctx.now,
    // Its extra messages (a second proposal) carry its own signature, as a real attacker's would,
    // and leave past its own rewriting.
    publish: async (type, payload, at) => own.publish(type, await signAsNode(ctx, type, payload, at), at),
    publishRaw: (topic, bytes) => publishRaw(ctx.network, config.network, topic, bytes),
    subscribe: (type, handler) => ctx.network.subscribe(type, handler),
    log,
  });
  running = ctx;
  const control = await startTestControl(
    { peerId: ctx.peerId, byzantine, setPartition: (peers) => ctx.network.setPartition(peers), partition: () => ctx.network.partition() },
    0,
    log,
  );
  writeFileSync(controlFile(config.dataDir), JSON.stringify({ url: control.url }), { mode: 0o600 });
  if (settings.epochAttacks) attachEpochAttacks(node);
  log.warn({ byzantine: settings.byzantine, epochAttacks: settings.epochAttacks, control: control.url }, 'test node (test/support/node-main.ts): this node may misbehave on purpose');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await control.close().catch(() => {});
    byzantine!.stop();
  };
  void node.done.finally(close);
  return {
    ...node,
    stop: async () => {
      await close();
      await node.stop();
    },
  };
}
