// Fuzz target: peer messages. Malformed gossip envelopes of every registered type go through
// validateMessage exactly as the network calls it; malformed direct request and reply frames of
// every direct kind through judgeDirectRequest / parseDirectResponse. A case passes when it is
// refused with a reason; an acceptance or a validator error is a failure.
import { encodeEnvelope, PROTOCOL_VERSION, type Envelope } from '../p2p/envelope.js';
import { DEFAULT_FRESHNESS, type MessageRegistry } from '../p2p/registry.js';
import { SeenCache } from '../p2p/seen-cache.js';
import { validateMessage } from '../p2p/validate.js';
import { judgeDirectRequest, parseDirectResponse, type DirectKindSpec } from '../p2p/direct.js';
import { isMetanodeError } from '../util/errors.js';
import type { Prng } from '../util/prng.js';
import { nodeDirectKinds, registerNodeMessageTypes } from '../node/message-types.js';
import { DIRECT_REQUEST_CORPUS, DIRECT_RESPONSE_CORPUS, FUZZ_EPOCH, FUZZ_NETWORK, FUZZ_OTHER, FUZZ_ROUND, FUZZ_SIGNER, GOSSIP_CORPUS } from './corpus.js';
import { mutate, type Json } from './mutate.js';
import type { FuzzCase, FuzzOutcome } from './types.js';

const enc = new TextEncoder();
const NEVER_UTF8 = [0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff];
const CONTROL = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f];

/** Byte-level damage that no JSON parser accepts: truncation, a byte never in UTF-8, a raw control byte. */
function damageBytes(bytes: Uint8Array, rng: Prng): { op: string; bytes: Uint8Array; expect: string } {
  const op = rng.pick(['truncate', 'not-utf8', 'control-byte']);
  if (op === 'truncate') return { op, bytes: bytes.slice(0, rng.int(bytes.length)), expect: 'not-json' };
  const at = rng.int(bytes.length + 1);
  const b = op === 'not-utf8' ? rng.pick(NEVER_UTF8) : rng.pick(CONTROL);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes.subarray(0, at));
  out[at] = b;
  out.set(bytes.subarray(at), at + 1);
  return { op, bytes: out, expect: op === 'not-utf8' ? 'not-utf8' : 'not-json' };
}

export interface GossipCaseInput {
  type: string;
  bytes: Uint8Array;
  signer: string | undefined;
  topic: string;
  /** Validate the unchanged message first (it is accepted and remembered): the case is its replay. */
  replayOf?: Uint8Array;
}

export class MessageFuzzer {
  readonly registry: MessageRegistry;
  readonly directKinds: Map<string, DirectKindSpec<any, any>>;
  readonly gossipTypes: string[];

  /** Defaults: the node's own registrations (tests pass others to show a lax schema is caught). */
  constructor(registry?: MessageRegistry, directKinds?: Map<string, DirectKindSpec<any, any>>) {
    this.registry = registry ?? registerNodeMessageTypes();
    this.directKinds = directKinds ?? nodeDirectKinds();
    this.gossipTypes = Object.keys(GOSSIP_CORPUS).filter((t) => this.registry.has(t)).sort();
  }

  /** The unchanged corpus envelope of `type` (must be accepted). */
  validEnvelope(type: string): Envelope {
    return { version: PROTOCOL_VERSION, network: FUZZ_NETWORK, epoch: FUZZ_EPOCH, round: FUZZ_ROUND, type, from: FUZZ_SIGNER, payload: structuredClone(GOSSIP_CORPUS[type]) };
  }

  topicOf(type: string): string {
    return this.registry.get(type)!.topic;
  }

  judgeGossip(c: GossipCaseInput) {
    const seen = new SeenCache();
    const ctx = { network: FUZZ_NETWORK, localEpoch: FUZZ_EPOCH, localRound: FUZZ_ROUND, registry: this.registry, seen, blockedReason: () => undefined };
    if (c.replayOf) {
      const first = validateMessage(c.replayOf, c.signer, c.topic, ctx);
      if (first.verdict.result === 'accept') seen.add(first.digest!);
    }
    return validateMessage(c.bytes, c.signer, c.topic, ctx);
  }

  /** One malformed gossip case of `type`. */
  gossipCase(type: string, rng: Prng): { op: string; detail: string; input: GossipCaseInput } {
    const spec = this.registry.get(type)!;
    const topic = spec.topic;
    const env = this.validEnvelope(type) as unknown as Record<string, Json>;
    const valid = encodeEnvelope(env as unknown as Envelope);
    const base = { type, signer: FUZZ_SIGNER as string | undefined, topic };
    const f = { ...DEFAULT_FRESHNESS, ...spec.freshness };
    const otherTopicType = this.gossipTypes.find((t) => this.topicOf(t) !== topic)!;
    const layer = rng.pick(['bytes', 'bytes', 'envelope', 'envelope', 'payload', 'payload', 'payload', 'payload', 'context']);
    if (layer === 'bytes') {
      if (rng.chance(0.2)) {
        // Padding after the JSON keeps it valid JSON; only the size is wrong.
        const pad = spec.maxBytes - valid.length + 1 + rng.int(64);
        const bytes = new Uint8Array(valid.length + pad).fill(0x20);
        bytes.set(valid);
        return { op: 'oversized', detail: `${bytes.length} bytes, limit ${spec.maxBytes}`, input: { ...base, bytes } };
      }
      const d = damageBytes(valid, rng);
      return { op: d.op, detail: `${d.bytes.length} bytes`, input: { ...base, bytes: d.bytes } };
    }
    if (layer === 'envelope') {
      const key = rng.pick(['version', 'network', 'epoch', 'round', 'type', 'from', 'payload', 'extra']);
      const e = { ...env } as Record<string, Json>;
      let op = `envelope-${key}`;
      if (key === 'extra') e[rng.pick(['signature', 'zz', 'Payload'])] = 1;
      else if (rng.chance(0.25)) {
        delete e[key];
        op = `envelope-drop-${key}`;
      } else {
        const bad: Record<string, Json[]> = {
          version: [0, 2, -1, 1.5, '1', null],
          network: ['mainnet', 'testnet', '', 'x'.repeat(33), 5],
          epoch: [-1, 1.5, '3', null, 2 ** 60],
          round: [-1, 0.5, 'now', null, FUZZ_ROUND + f.maxRoundsAhead + 1 + rng.int(1000), FUZZ_ROUND - f.maxRoundsBehind - 1 - rng.int(1000)],
          type: ['zz.fuzz', 'Sign.Proposal', '', 'x'.repeat(65), otherTopicType, 7],
          from: [FUZZ_OTHER, '', 'x'.repeat(129), null],
          payload: [],
        };
        if (key === 'payload') {
          delete e.payload;
          op = 'envelope-drop-payload';
        } else {
          const choices = bad[key]!;
          // A future epoch is ignored only for types with a finite window (a ping's epoch never matters).
          if (key === 'epoch' && Number.isSafeInteger(FUZZ_EPOCH + f.maxEpochsAhead + 1)) choices.push(FUZZ_EPOCH + f.maxEpochsAhead + 1 + rng.int(10));
          e[key] = rng.pick(choices);
        }
      }
      return { op, detail: JSON.stringify({ [key]: e[key] ?? '(absent)' }).slice(0, 120), input: { ...base, bytes: enc.encode(JSON.stringify(e)) } };
    }
    if (layer === 'payload') {
      for (let i = 0; i < 20; i++) {
        const m = mutate(env.payload as Json, spec.schema, rng);
        if (!m) continue;
        const bytes = encodeEnvelope({ ...(env as unknown as Envelope), payload: m.value });
        return { op: `payload-${m.op}`, detail: m.path, input: { ...base, bytes } };
      }
    }
    const ctxOp = rng.pick(['unsigned', 'other-signer', 'wrong-topic', 'unknown-topic', 'replay']);
    switch (ctxOp) {
      case 'unsigned':
        return { op: ctxOp, detail: '', input: { ...base, bytes: valid, signer: undefined } };
      case 'other-signer':
        return { op: ctxOp, detail: FUZZ_OTHER, input: { ...base, bytes: valid, signer: FUZZ_OTHER } };
      case 'wrong-topic':
        return { op: ctxOp, detail: this.topicOf(otherTopicType), input: { ...base, bytes: valid, topic: this.topicOf(otherTopicType) } };
      case 'unknown-topic':
        return { op: ctxOp, detail: 'zz-topic', input: { ...base, bytes: valid, topic: 'zz-topic' } };
      default:
        return { op: 'replay', detail: 'same bytes twice', input: { ...base, bytes: valid, replayOf: valid } };
    }
  }

  /** A gossip case as a FuzzCase; run() judges it. */
  gossip(rng: Prng, type = rng.pick(this.gossipTypes)): FuzzCase {
    const c = this.gossipCase(type, rng);
    return {
      target: 'gossip',
      subject: type,
      op: c.op,
      detail: c.detail,
      run: async (): Promise<FuzzOutcome> => {
        const out = this.judgeGossip(c.input);
        const v = out.verdict;
        if (v.result === 'accept') return { ok: false, failure: 'accepted' };
        if (v.reason.startsWith('validator-error')) return { ok: false, failure: `validator error: ${v.reason}` };
        return { ok: true, reason: `${v.result}:${v.reason}` };
      },
    };
  }

  /** A malformed direct request (frame or payload) of a random kind. */
  directRequest(rng: Prng, kind = rng.pick([...this.directKinds.keys()].sort())): FuzzCase {
    const spec = this.directKinds.get(kind)!;
    const frame = { kind, payload: structuredClone(DIRECT_REQUEST_CORPUS[kind]) as Json };
    const valid = enc.encode(JSON.stringify(frame));
    let op: string;
    let detail = '';
    let bytes: Uint8Array;
    const layer = rng.pick(['bytes', 'frame', 'payload', 'payload', 'size']);
    if (layer === 'bytes') {
      const d = damageBytes(valid, rng);
      ({ op, bytes } = d);
    } else if (layer === 'frame') {
      op = rng.pick(['frame-drop-kind', 'frame-drop-payload', 'frame-extra-key', 'frame-kind-type', 'frame-unknown-kind', 'frame-not-object']);
      const f: Record<string, Json> = { ...frame };
      if (op === 'frame-drop-kind') delete f.kind;
      if (op === 'frame-drop-payload') delete f.payload;
      if (op === 'frame-extra-key') f.id = 1;
      if (op === 'frame-kind-type') f.kind = rng.pick<Json>([7, '', 'x'.repeat(65), null]);
      if (op === 'frame-unknown-kind') f.kind = 'zz.fuzz';
      bytes = enc.encode(JSON.stringify(op === 'frame-not-object' ? [f] : f));
    } else if (layer === 'size') {
      op = 'oversized';
      const pad = spec.maxRequestBytes - valid.length + 1 + rng.int(64);
      bytes = new Uint8Array(valid.length + pad).fill(0x20);
      bytes.set(valid);
      detail = `${bytes.length} bytes, limit ${spec.maxRequestBytes}`;
    } else {
      let m = mutate(frame.payload, spec.request, rng);
      for (let i = 0; !m && i < 20; i++) m = mutate(frame.payload, spec.request, rng);
      op = `payload-${m!.op}`;
      detail = m!.path;
      bytes = enc.encode(JSON.stringify({ kind, payload: m!.value }));
    }
    return {
      target: 'direct-request',
      subject: kind,
      op,
      detail,
      run: async () => {
        const v = judgeDirectRequest(bytes, this.directKinds);
        return v.ok ? { ok: false, failure: 'accepted' } : { ok: true, reason: v.reason };
      },
    };
  }

  /** A malformed direct reply of a random kind. */
  directResponse(rng: Prng, kind = rng.pick([...this.directKinds.keys()].sort())): FuzzCase {
    const spec = this.directKinds.get(kind)!;
    const reply = { ok: true, payload: structuredClone(DIRECT_RESPONSE_CORPUS[kind]) as Json };
    const valid = enc.encode(JSON.stringify(reply));
    let op: string;
    let detail = '';
    let bytes: Uint8Array;
    const layer = rng.pick(['bytes', 'frame', 'payload', 'payload']);
    if (layer === 'bytes') ({ op, bytes } = damageBytes(valid, rng));
    else if (layer === 'frame') {
      op = rng.pick(['reply-error', 'reply-ok-type', 'reply-extra-key', 'reply-drop-payload', 'reply-error-too-long']);
      const r: Record<string, Json> = { ...reply };
      if (op === 'reply-error') Object.assign(r, { ok: false, error: 'handler error' }, { payload: undefined as unknown as Json });
      if (op === 'reply-ok-type') r.ok = rng.pick<Json>(['true', 1, null]);
      if (op === 'reply-extra-key') r.id = 1;
      if (op === 'reply-drop-payload') delete r.payload;
      if (op === 'reply-error-too-long') Object.assign(r, { ok: false, error: 'e'.repeat(501) }, { payload: undefined as unknown as Json });
      bytes = enc.encode(JSON.stringify(r));
    } else {
      let m = mutate(reply.payload, spec.response, rng);
      for (let i = 0; !m && i < 20; i++) m = mutate(reply.payload, spec.response, rng);
      op = `payload-${m!.op}`;
      detail = m!.path;
      bytes = enc.encode(JSON.stringify({ ok: true, payload: m!.value }));
    }
    return {
      target: 'direct-response',
      subject: kind,
      op,
      detail,
      run: async () => {
        try {
          parseDirectResponse(bytes, spec, kind, FUZZ_OTHER);
          return { ok: false, failure: 'accepted' };
        } catch (e) {
          if (!isMetanodeError(e)) return { ok: false, failure: `crash: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
          if (e.code !== 'INVALID_MESSAGE' || !e.culprits.includes(FUZZ_OTHER)) return { ok: false, failure: `wrong error: ${e.code} culprits ${e.culprits.join(',')}` };
          return { ok: true, reason: e.message.replace(/^INVALID_MESSAGE: [^:]+: /, '').replace(/: .*$/, '').replace(/ \(culprits.*$/, '').replace(/\d+ bytes/, 'N bytes') };
        }
      },
    };
  }
}

/** Sanity: every corpus entry passes its own validator unchanged (else mutants prove nothing). */
export function corpusProblems(f: MessageFuzzer): string[] {
  const problems: string[] = [];
  for (const type of f.gossipTypes) {
    const out = f.judgeGossip({ type, bytes: encodeEnvelope(f.validEnvelope(type)), signer: FUZZ_SIGNER, topic: f.topicOf(type) });
    if (out.verdict.result !== 'accept') problems.push(`gossip ${type}: ${out.verdict.reason}`);
  }
  for (const kind of f.directKinds.keys()) {
    const v = judgeDirectRequest(enc.encode(JSON.stringify({ kind, payload: DIRECT_REQUEST_CORPUS[kind] })), f.directKinds);
    if (!v.ok) problems.push(`direct request ${kind}: ${v.reason}`);
    try {
      parseDirectResponse(enc.encode(JSON.stringify({ ok: true, payload: DIRECT_RESPONSE_CORPUS[kind] })), f.directKinds.get(kind)!, kind, FUZZ_OTHER);
    } catch (e) {
      problems.push(`direct response ${kind}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const missing = [...f.registry.topics().flatMap((t) => f.registry.typesOnTopic(t))].filter((t) => !(t in GOSSIP_CORPUS));
  for (const t of missing) problems.push(`gossip type ${t} has no corpus entry`);
  for (const k of f.directKinds.keys()) if (!(k in DIRECT_REQUEST_CORPUS) || !(k in DIRECT_RESPONSE_CORPUS)) problems.push(`direct kind ${k} has no corpus entry`);
  return problems;
}
