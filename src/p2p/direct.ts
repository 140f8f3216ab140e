// Point-to-point request/response over one libp2p stream per request, protocol
// /metanode/<network>/direct/1. Framing: one length-prefixed (unsigned varint) JSON request
// `{ kind, payload }`, answered by one length-prefixed JSON response `{ ok: true, payload }` or
// `{ ok: false, error }`. Noise encrypts and authenticates the connection, so the handler learns
// the remote peer id from the connection itself, never from the message.
import * as lp from 'it-length-prefixed';
import type { Stream, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';
import type { Logger } from '../util/log.js';
import { MetanodeError } from '../util/errors.js';
import { decodeJson } from './envelope.js';
import type { P2pHost } from './host.js';
import { directProtocol } from './topics.js';
import type { P2pMetrics } from './metrics.js';

export interface DirectKindSpec<Req = unknown, Res = unknown> {
  request: z.ZodType<Req>;
  response: z.ZodType<Res>;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** `from` is the Noise-authenticated remote peer id. Throwing returns { ok: false }. */
  handler: (from: string, req: Req) => Promise<Res> | Res;
}

const requestFrame = z.object({ kind: z.string().min(1).max(64), payload: z.unknown() }).strict();
const responseFrame = z.union([
  z.object({ ok: z.literal(true), payload: z.unknown() }).strict(),
  z.object({ ok: z.literal(false), error: z.string().max(500) }).strict(),
]);

const enc = new TextEncoder();
/** Upper bound on any request frame before the kind is known. */
const MAX_FRAME = 4 * 1024 * 1024;

export interface DirectOptions {
  network: string;
  timeoutMs?: number;
  log: Logger;
  metrics?: P2pMetrics;
  /** Called when a remote peer violates the protocol (oversized/malformed frames). */
  onViolation?: (peerId: string, reason: string) => void;
  /** Remote peers allowed to use the protocol (blocklist check). */
  isBlocked?: (peerId: string) => boolean;
  /**
   * Listen addresses a peer announced in its pings. The network is not a full mesh (M-of-N),
   * so a direct request may go to a peer we hold no connection to and whose addresses libp2p's
   * peer store never learned.
   */
  addrsOf?: (peerId: string) => string[];
}

export class DirectMessenger {
  private readonly kinds = new Map<string, DirectKindSpec<any, any>>();
  private host?: P2pHost;
  readonly protocol: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: DirectOptions) {
    this.protocol = directProtocol(opts.network);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  register<Req, Res>(kind: string, spec: DirectKindSpec<Req, Res>): void {
    if (this.kinds.has(kind)) throw new Error(`direct kind ${kind} already registered`);
    this.kinds.set(kind, spec);
  }

  async start(host: P2pHost): Promise<void> {
    this.host = host;
    await host.handle(this.protocol, ({ stream, connection }) => {
      void this.serve(stream, connection.remotePeer.toString());
    }, { maxInboundStreams: 64, runOnLimitedConnection: false });
  }

  async stop(): Promise<void> {
    if (this.host) await this.host.unhandle(this.protocol).catch(() => {});
    this.host = undefined;
  }

  private async serve(stream: Stream, from: string): Promise<void> {
    const timer = setTimeout(() => stream.abort(new Error('direct request timed out')), this.timeoutMs);
    let kind = 'unknown';
    try {
      if (this.opts.isBlocked?.(from)) {
        stream.abort(new Error('blocked'));
        return;
      }
      let raw: Uint8Array | undefined;
      try {
        raw = await readOne(stream, MAX_FRAME);
      } catch (e) {
        if (e instanceof FrameTooLarge) this.opts.onViolation?.(from, 'direct-oversized');
        throw e;
      }
      if (!raw) return;
      const v = judgeDirectRequest(raw, this.kinds);
      if (!v.ok) {
        kind = v.kind ?? kind;
        if (v.violation) this.opts.onViolation?.(from, v.violation);
        await writeOne(stream, { ok: false, error: v.error });
        if (v.reason !== 'malformed') this.opts.metrics?.directRequests.inc({ kind: v.reason === 'unknown-kind' ? 'unknown' : kind, outcome: v.reason });
        return;
      }
      kind = v.kind;
      const spec = this.kinds.get(kind)!;
      let res: unknown;
      try {
        res = await spec.handler(from, v.payload);
      } catch (e) {
        this.opts.log.warn({ kind, from, err: e instanceof Error ? e.message : String(e) }, 'direct handler failed');
        await writeOne(stream, { ok: false, error: e instanceof MetanodeError ? e.code : 'handler error' });
        this.opts.metrics?.directRequests.inc({ kind, outcome: 'error' });
        return;
      }
      await writeOne(stream, { ok: true, payload: res });
      this.opts.metrics?.directRequests.inc({ kind, outcome: 'ok' });
    } catch (e) {
      this.opts.log.debug({ kind, from, err: e instanceof Error ? e.message : String(e) }, 'direct stream failed');
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends one request to `peer` and returns its validated response payload. Throws
   * MetanodeError TIMEOUT, ABORTED (connection or stream gone, no reply), or INVALID_MESSAGE
   * (culprit = peer) when the reply is malformed, too large or an error reply.
   */
  async request<Req, Res>(peer: string | PeerId, kind: string, payload: Req, opts: { timeoutMs?: number } = {}): Promise<Res> {
    const host = this.host;
    if (!host) throw new MetanodeError('ABORTED', 'direct messenger not started');
    const spec = this.kinds.get(kind);
    if (!spec) throw new MetanodeError('INVALID_INPUT', `unknown direct kind ${kind}`);
    const peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer;
    const who = peerId.toString();
    const out = spec.request.safeParse(payload);
    if (!out.success) throw new MetanodeError('INVALID_INPUT', `invalid ${kind} request: ${out.error.message}`);
    const bytes = enc.encode(JSON.stringify({ kind, payload: out.data }));
    if (bytes.length > spec.maxRequestBytes) throw new MetanodeError('INVALID_INPUT', `${kind} request exceeds ${spec.maxRequestBytes} bytes`);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    let stream: Stream | undefined;
    const timer = setTimeout(() => stream?.abort(new Error('timeout')), timeoutMs);
    try {
      if (host.getConnections(peerId).length === 0) {
        const addrs = this.opts.addrsOf?.(who) ?? [];
        if (addrs.length) await host.peerStore.merge(peerId, { multiaddrs: addrs.map((a: string) => multiaddr(a)) }).catch(() => {});
      }
      stream = await host.dialProtocol(peerId, this.protocol, { signal });
      await stream.sink([lp.encode.single(bytes).subarray()]);
      let raw: Uint8Array | undefined;
      try {
        raw = await readOne(stream, spec.maxResponseBytes + 64);
      } catch (e) {
        if (e instanceof FrameTooLarge) throw new MetanodeError('INVALID_MESSAGE', `${kind}: reply exceeds ${spec.maxResponseBytes} bytes`, [who]);
        throw e;
      }
      // A stream closed without a reply is what a peer that is shutting down (or that dropped the
      // request under load) produces: indistinguishable from a timeout, so nobody's fault, never
      // a reason to blocklist an honest operator.
      if (!raw) throw new MetanodeError('ABORTED', `${kind} request to ${who}: stream closed without a reply`, [], { peer: who });
      const res = parseDirectResponse<Res>(raw, spec, kind, who);
      await stream.close().catch(() => {});
      return res;
    } catch (e) {
      stream?.abort(e instanceof Error ? e : new Error(String(e)));
      if (e instanceof MetanodeError) throw e;
      if (signal.aborted) throw new MetanodeError('TIMEOUT', `${kind} request to ${who} timed out after ${timeoutMs} ms`, [who]);
      throw new MetanodeError('ABORTED', `${kind} request to ${who} failed: ${e instanceof Error ? e.message : String(e)}`, [], { peer: who });
    } finally {
      clearTimeout(timer);
    }
  }
}

export type DirectRequestVerdict =
  | { ok: true; kind: string; payload: unknown }
  | { ok: false; reason: 'malformed' | 'unknown-kind' | 'oversized' | 'bad-payload'; kind?: string; error: string; violation?: string };

/**
 * Judges one received request frame (pure): the frame's JSON and shape, the kind, its size limit
 * and its payload schema. `violation` is the reason to report the sender for, if it is at fault
 * (an unknown kind is not: the peer may run a newer version).
 */
export function judgeDirectRequest(raw: Uint8Array, kinds: ReadonlyMap<string, DirectKindSpec<any, any>>): DirectRequestVerdict {
  const frame = decodeJson(raw);
  const parsed = frame.ok ? requestFrame.safeParse(frame.value) : undefined;
  if (!parsed?.success) return { ok: false, reason: 'malformed', error: 'malformed request', violation: 'direct-malformed' };
  const kind = parsed.data.kind;
  const spec = kinds.get(kind);
  if (!spec) return { ok: false, reason: 'unknown-kind', kind, error: `unknown kind ${kind}` };
  if (raw.length > spec.maxRequestBytes) return { ok: false, reason: 'oversized', kind, error: 'request too large', violation: 'direct-oversized' };
  const req = spec.request.safeParse(parsed.data.payload);
  if (!req.success) return { ok: false, reason: 'bad-payload', kind, error: 'invalid payload', violation: 'direct-bad-payload' };
  return { ok: true, kind, payload: req.data };
}

/** Parses one reply frame (pure); throws MetanodeError INVALID_MESSAGE naming `who` when malformed, too large or an error reply. */
export function parseDirectResponse<Res>(raw: Uint8Array, spec: Pick<DirectKindSpec<unknown, Res>, 'response' | 'maxResponseBytes'>, kind: string, who: string): Res {
  const frame = decodeJson(raw);
  const parsed = frame.ok ? responseFrame.safeParse(frame.value) : undefined;
  if (!parsed?.success) throw new MetanodeError('INVALID_MESSAGE', `${kind}: malformed reply`, [who]);
  if (!parsed.data.ok) throw new MetanodeError('INVALID_MESSAGE', `${kind}: peer answered error: ${parsed.data.error}`, [who], { remoteError: parsed.data.error });
  if (raw.length > spec.maxResponseBytes) throw new MetanodeError('INVALID_MESSAGE', `${kind}: reply exceeds ${spec.maxResponseBytes} bytes`, [who]);
  const res = spec.response.safeParse(parsed.data.payload);
  if (!res.success) throw new MetanodeError('INVALID_MESSAGE', `${kind}: reply fails schema`, [who]);
  return res.data;
}

class FrameTooLarge extends Error {}

async function readOne(stream: Stream, maxBytes: number): Promise<Uint8Array | undefined> {
  try {
    for await (const chunk of lp.decode(stream.source, { maxDataLength: maxBytes })) {
      return chunk.subarray();
    }
  } catch (e) {
    if (e instanceof Error && (e.name === 'InvalidDataLengthError' || e.name === 'InvalidDataLengthLengthError')) throw new FrameTooLarge(e.message);
    throw e;
  }
  return undefined;
}

async function writeOne(stream: Stream, value: unknown): Promise<void> {
  await stream.sink([lp.encode.single(enc.encode(JSON.stringify(value))).subarray()]);
}
