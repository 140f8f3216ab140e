// The chaos harness's control endpoint, test code only (test/support/node-main.ts starts it next
// to the production node): lets the harness cut this node's connections to chosen peers and
// restore them, and switch its Byzantine mode at run time. Its own loopback listener, separate
// from the operator API (node:http: fastify is not a dependency):
//   GET  /v1/test/state                      -> { peerId, byzantine, partition, actions }
//   POST /v1/test/partition  {peers: [ids]}  -> cut these peers ([] heals)
//   POST /v1/test/byzantine  {mode}          -> none | one of BYZANTINE_MODES
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { errorMessage } from '../../../src/util/errors.js';
import type { Logger } from '../../../src/util/log.js';
import { BYZANTINE_MODES, type Byzantine, type ByzantineSetting } from './modes.js';

const BODY_LIMIT = 64 * 1024;

export const partitionBodySchema = z.strictObject({ peers: z.array(z.string().min(1).max(128)).max(1000) });
export const byzantineBodySchema = z.strictObject({ mode: z.enum(['none', ...BYZANTINE_MODES]) });

export interface TestControlTarget {
  peerId: string;
  byzantine: Byzantine;
  setPartition(peers: string[]): Promise<void>;
  partition(): string[];
}

export interface TestControlState {
  peerId: string;
  byzantine: ByzantineSetting;
  partition: string[];
  actions: Record<string, number>;
}

export interface TestControl {
  url: string;
  close(): Promise<void>;
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > BODY_LIMIT) throw new BadRequest(413, `body larger than ${BODY_LIMIT} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    throw new BadRequest(400, `body is not JSON: ${errorMessage(e)}`);
  }
}

function parse<T>(schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new BadRequest(400, r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; '));
  return r.data;
}

export function controlState(t: TestControlTarget): TestControlState {
  return { peerId: t.peerId, byzantine: t.byzantine.mode, partition: t.partition(), actions: { ...t.byzantine.actions } };
}

/** Starts the control endpoint on 127.0.0.1:`port` (0 picks one). */
export async function startTestControl(t: TestControlTarget, port: number, log: Logger): Promise<TestControl> {
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body) + '\n';
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const route = `${req.method} ${new URL(req.url ?? '/', 'http://localhost').pathname}`;
    (async () => {
      switch (route) {
        case 'GET /v1/test/state':
          return controlState(t);
        case 'POST /v1/test/partition': {
          const { peers } = parse(partitionBodySchema, await readJson(req));
          await t.setPartition(peers.filter((p) => p !== t.peerId));
          log.warn({ peers }, 'test control: partition set');
          return controlState(t);
        }
        case 'POST /v1/test/byzantine': {
          const { mode } = parse(byzantineBodySchema, await readJson(req));
          t.byzantine.setMode(mode);
          return controlState(t);
        }
        default:
          throw new BadRequest(404, `no test control route ${route}`);
      }
    })().then(
      (body) => reply(200, body),
      (e: unknown) => reply(e instanceof BadRequest ? e.status : 500, { error: errorMessage(e) }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${a.port}`;
  log.warn({ url }, 'test control endpoint listening (test/support/node-main.ts)');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
