// One metanode as its own OS process (`node --import tsx src/cli/main.ts start --config <file>`),
// for the devnet, the chaos harness and the multi-process benchmarks: spawn, wait for the HTTP
// API, stop (SIGTERM, then SIGKILL), or send a raw signal. Output goes straight to the node's log
// file (the child writes to the file descriptor itself, so a busy parent never stalls it).
import { closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createApiClient, type ApiClient } from '../cli/client.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
/** SIGTERM first; a node that has not exited after this long gets SIGKILL. */
export const STOP_GRACE_MS = 8_000;

export interface ProcNode {
  index: number;
  name: string;
  dir: string;
  peerId: string;
  p2pPort: number;
  httpPort: number;
  configFile: string;
  dbFile: string;
  logFile: string;
  api: ApiClient;
  /** Pid of the node process while it exists, undefined before the first start and after it exited. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Spawns (again) the node process; resolves when /health answers (any status) or after a bounded wait. */
  start(): Promise<void>;
  /** SIGTERM (and SIGCONT, in case it is stopped), SIGKILL after 8 s; resolves when the process is gone. */
  stop(): Promise<void>;
  /** Raw signal: SIGKILL, SIGSTOP, SIGCONT ... (no-op when the process is not running). */
  kill(signal?: NodeJS.Signals): void;
}

export interface ProcNodeSpec {
  index: number;
  name: string;
  dir: string;
  peerId: string;
  p2pPort: number;
  httpPort: number;
  configFile: string;
  passphrase: string;
  env?: Record<string, string>;
  /** How long start() waits for /health before resolving anyway. */
  startWaitMs?: number;
  out?: (line: string) => void;
}

// Children of this process still alive: if the parent exits without stopping them (an uncaught
// error, process.exit in a signal handler), they get SIGTERM rather than outliving it.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGCONT');
          c.kill('SIGTERM');
        } catch {
          // already gone
        }
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

const alive = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;

export function createProcNode(spec: ProcNodeSpec): ProcNode {
  const logFile = join(spec.dir, 'node.log');
  const healthUrl = `http://127.0.0.1:${spec.httpPort}/health`;
  let child: ChildProcess | undefined;
  let stopping = false;

  async function healthAnswers(): Promise<boolean> {
    try {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer().catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }

  const node: ProcNode = {
    index: spec.index,
    name: spec.name,
    dir: spec.dir,
    peerId: spec.peerId,
    p2pPort: spec.p2pPort,
    httpPort: spec.httpPort,
    configFile: spec.configFile,
    dbFile: join(spec.dir, 'node.sqlite'),
    logFile,
    api: createApiClient(`http://127.0.0.1:${spec.httpPort}`, { timeoutMs: 5_000 }),
    get pid() {
      return alive(child) ? child.pid : undefined;
    },
    get running() {
      return alive(child);
    },
    async start() {
      if (alive(child)) return;
      stopping = false;
      const fd = openSync(logFile, 'a', 0o600);
      let c: ChildProcess;
      try {
        c = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', '--config', spec.configFile], {
          cwd: ROOT,
          env: { ...process.env, ...spec.env, METANODE_PASSPHRASE: spec.passphrase },
          stdio: ['ignore', fd, fd],
        });
      } finally {
        closeSync(fd);
      }
      child = c;
      track(c);
      const exited = new Promise<string>((res) => c.once('exit', (code, signal) => res(String(signal ?? code))));
      void exited.then((how) => {
        if (!stopping && child === c) spec.out?.(`${spec.name}: exited (${how}); log at ${logFile}`);
      });
      const until = Date.now() + (spec.startWaitMs ?? 30_000);
      while (Date.now() < until) {
        if (!alive(c)) throw new Error(`${spec.name} exited during start (${await exited}); see ${logFile}`);
        if (await healthAnswers()) return;
        await sleep(250);
      }
      spec.out?.(`${spec.name}: no answer on ${healthUrl} after ${spec.startWaitMs ?? 30_000} ms; going on`);
    },
    async stop() {
      const c = child;
      if (!alive(c)) return;
      stopping = true;
      await new Promise<void>((res) => {
        const t = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
        c.once('exit', () => {
          clearTimeout(t);
          res();
        });
        c.kill('SIGTERM');
        c.kill('SIGCONT'); // a SIGSTOPped node would otherwise hold the SIGTERM until the SIGKILL
      });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!alive(child)) return;
      if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') stopping = true;
      child.kill(signal);
    },
  };
  return node;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
