// Registry of gossiped message types. Each module that speaks on the network registers its
// types (schema, byte limit, topic) here; the network validates every incoming envelope of that
// type against the registration before any handler sees it.
import type { z } from 'zod';
import type { Envelope } from './envelope.js';
import type { Verdict } from './verdict.js';

export interface Freshness {
  /** Envelopes whose round is more than this many rounds behind the local round are ignored. */
  maxRoundsBehind: number;
  /** Envelopes whose round is more than this many rounds ahead are rejected. */
  maxRoundsAhead: number;
  /** Envelopes more than this many epochs behind the local epoch are ignored. */
  maxEpochsBehind: number;
  /** Envelopes more than this many epochs ahead are ignored (we may be the one behind). */
  maxEpochsAhead: number;
}

export const DEFAULT_FRESHNESS: Freshness = { maxRoundsBehind: 2, maxRoundsAhead: 2, maxEpochsBehind: 1, maxEpochsAhead: 1 };

export interface MessageTypeSpec<P = unknown> {
  /** zod schema of the payload. Unknown keys should be refused (use .strict()). */
  schema: z.ZodType<P>;
  /** Upper bound for the whole encoded envelope, in bytes. */
  maxBytes: number;
  /** Short topic name; the wire topic is /metanode/<network>/<topic>/1. Types may share a topic. */
  topic: string;
  freshness?: Partial<Freshness>;
  /**
   * Type-specific semantic checks after the schema passed (pure, synchronous). Return a
   * verdict; anything but accept stops the message.
   */
  check?: (env: Envelope<P>) => Verdict;
}

export class MessageRegistry {
  private readonly types = new Map<string, MessageTypeSpec<any>>();

  register<P>(type: string, spec: MessageTypeSpec<P>): void {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(type) || type.length > 64) throw new Error(`invalid message type name ${JSON.stringify(type)}`);
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(spec.topic)) throw new Error(`invalid topic name ${JSON.stringify(spec.topic)}`);
    if (!Number.isInteger(spec.maxBytes) || spec.maxBytes <= 0) throw new Error(`invalid maxBytes for ${type}`);
    const existing = this.types.get(type);
    // Re-registering the identical spec (module loaded twice) is harmless; a different one is a bug.
    if (existing && existing !== spec && (existing.schema !== spec.schema || existing.topic !== spec.topic)) {
      throw new Error(`message type ${type} already registered`);
    }
    this.types.set(type, spec);
  }

  get(type: string): MessageTypeSpec<unknown> | undefined {
    return this.types.get(type);
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  /** Distinct short topic names of every registered type. */
  topics(): string[] {
    return [...new Set([...this.types.values()].map((s) => s.topic))];
  }

  typesOnTopic(topic: string): string[] {
    return [...this.types.entries()].filter(([, s]) => s.topic === topic).map(([t]) => t);
  }
}

/** The process-wide registry every module registers into; networks use it unless given another. */
export const defaultRegistry = new MessageRegistry();

export function registerMessageType<P>(type: string, spec: MessageTypeSpec<P>): void {
  defaultRegistry.register(type, spec);
}
