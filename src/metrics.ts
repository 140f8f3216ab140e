// One Prometheus registry per node (several nodes may share a test process), with Node's
// default process metrics and helpers that namespace every metric under `metanode_`.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRIC_PREFIX = 'metanode_';

export interface MetricsOptions {
  /** Collect process/GC/event-loop metrics (metanode_process_*, metanode_nodejs_*); default true. */
  defaultMetrics?: boolean;
  /** Labels added to every metric, e.g. { node: peerId } when several nodes share a Prometheus. */
  labels?: Record<string, string>;
}

export interface Metrics {
  registry: Registry;
  counter<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string = string>(name: string, help: string, labelNames?: readonly L[], buckets?: number[]): Histogram<L>;
  /** Prometheus text exposition of everything registered. */
  text(): Promise<string>;
  contentType: string;
}

export function metricName(name: string): string {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name "${name}"`);
  return name.startsWith(METRIC_PREFIX) ? name : METRIC_PREFIX + name;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  // Asking twice for the same name returns the existing metric, so modules can declare theirs
  // independently without double-registration errors.
  function existing<T>(full: string, kind: string): T | undefined {
    const m = registry.getSingleMetric(full);
    if (!m) return undefined;
    if ((m as unknown as { constructor: { name: string } }).constructor.name !== kind) throw new Error(`metric ${full} already registered with another type`);
    return m as T;
  }

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
      const full = metricName(name);
      return existing<Counter<L>>(full, 'Counter') ?? new Counter<L>({ name: full, help, labelNames, registers: [registry] });
    },
    gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
      const full = metricName(name);
      return existing<Gauge<L>>(full, 'Gauge') ?? new Gauge<L>({ name: full, help, labelNames, registers: [registry] });
    },
    histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]) {
      const full = metricName(name);
      return existing<Histogram<L>>(full, 'Histogram') ?? new Histogram<L>({ name: full, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
    },
  };
}
