// libp2p's own metrics (connections by direction, streams per protocol, dials and dial errors,
// noise handshakes, TCP listener events, ...) exported through the node's prom-client registry,
// so /metrics carries them next to metanode's. libp2p calls these register* methods from its
// components; this implements its Metrics interface on prom-client, as @libp2p/prometheus-metrics
// does, without wrapping any stream (counting only, so a metrics bug cannot break a connection).
import { Counter, Gauge, Histogram, Summary, type Registry } from 'prom-client';
import type { Metrics, MetricOptions } from '@libp2p/interface';

type Calc<T> = () => T | Promise<T>;
type Values = Partial<Record<string, number | true>>;

interface CalcOptions<T> extends MetricOptions {
  calculate?: Calc<T>;
  buckets?: number[];
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
}

const DEFAULT_LABEL = 'key';

function metricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}

/** Sums what several calculators report (e.g. one per TCP listener) into one value set. */
async function merged(calcs: Array<Calc<number | Record<string, number>>>): Promise<Record<string, number> | number> {
  let single = 0;
  const group: Record<string, number> = {};
  let isGroup = false;
  for (const c of calcs) {
    const v = await c();
    if (typeof v === 'number') single += v;
    else {
      isGroup = true;
      for (const [k, x] of Object.entries(v)) group[k] = (group[k] ?? 0) + x;
    }
  }
  return isGroup ? group : single;
}

/** A libp2p `metrics` factory backed by `registry`; one per libp2p instance. */
export function libp2pPrometheusMetrics(registry: Registry): () => Metrics {
  return () => {
    // Per instance: a metric registered by an earlier instance (a restarted host) is replaced,
    // so its collectors do not read a stopped host; within an instance, repeated registrations
    // of a calculated metric (one per TCP listener) add their calculators together.
    const mine = new Map<string, { metric: unknown; calcs: Array<Calc<number | Record<string, number>>> }>();
    const streams = new Counter({ name: 'libp2p_protocol_streams_opened_total', help: 'libp2p protocol streams opened, by protocol', labelNames: ['protocol'], registers: [] });
    const connections = new Counter({ name: 'libp2p_connections_opened_total', help: 'libp2p connections opened (before upgrade)', registers: [] });
    for (const m of [streams, connections]) {
      registry.removeSingleMetric((m as unknown as { name: string }).name);
      registry.registerMetric(m);
    }

    function register<M>(rawName: string, opts: CalcOptions<number | Record<string, number>> | undefined, make: (name: string, help: string, labelNames: string[], collect?: (m: M) => Promise<void>) => M): M | undefined {
      const name = metricName(rawName);
      const label = opts?.label ?? DEFAULT_LABEL;
      const prev = mine.get(name);
      if (prev) {
        if (opts?.calculate) prev.calcs.push(opts.calculate);
        return opts?.calculate ? undefined : (prev.metric as M);
      }
      registry.removeSingleMetric(name);
      const entry = { metric: undefined as unknown, calcs: opts?.calculate ? [opts.calculate] : [] };
      const collect = opts?.calculate
        ? async (m: M) => {
            const v = await merged(entry.calcs);
            const target = m as unknown as { reset(): void; set?(l: Record<string, string>, v: number): void; inc?(l: Record<string, string>, v: number): void; observe?(l: Record<string, string>, v: number): void };
            target.reset();
            const put = (labels: Record<string, string>, x: number) => {
              if (target.set) target.set(labels, x);
              else if (target.inc) target.inc(labels, Math.max(0, x));
              else target.observe?.(labels, x);
            };
            if (typeof v === 'number') put({}, v);
            else for (const [k, x] of Object.entries(v)) put({ [label]: k }, x);
          }
        : undefined;
      const metric = make(name, opts?.help ?? rawName, [label], collect);
      entry.metric = metric;
      mine.set(name, entry);
      registry.registerMetric(metric as never);
      return opts?.calculate ? undefined : metric;
    }

    const gauge = (name: string, opts?: CalcOptions<number | Record<string, number>>) =>
      register<Gauge<string>>(name, opts, (n, help, labelNames, collect) => new Gauge({ name: n, help, labelNames, registers: [], ...(collect ? { collect(this: Gauge<string>) { return collect(this); } } : {}) }));
    const counter = (name: string, opts?: CalcOptions<number | Record<string, number>>) =>
      register<Counter<string>>(name, opts, (n, help, labelNames, collect) => new Counter({ name: n, help, labelNames, registers: [], ...(collect ? { collect(this: Counter<string>) { return collect(this); } } : {}) }));
    const histogram = (name: string, opts?: CalcOptions<number | Record<string, number>>) =>
      register<Histogram<string>>(name, opts, (n, help, labelNames, collect) =>
        new Histogram({ name: n, help, labelNames, registers: [], ...(opts?.buckets ? { buckets: opts.buckets } : {}), ...(collect ? { collect(this: Histogram<string>) { return collect(this); } } : {}) }),
      );
    const summary = (name: string, opts?: CalcOptions<number | Record<string, number>>) =>
      register<Summary<string>>(name, opts, (n, help, labelNames, collect) =>
        new Summary({
          name: n,
          help,
          labelNames,
          registers: [],
          ...(opts?.percentiles ? { percentiles: opts.percentiles } : {}),
          ...(opts?.maxAgeSeconds ? { maxAgeSeconds: opts.maxAgeSeconds, ageBuckets: opts.ageBuckets ?? 5 } : {}),
          ...(collect ? { collect(this: Summary<string>) { return collect(this); } } : {}),
        }),
      );

    const labelOf = (opts?: MetricOptions) => opts?.label ?? DEFAULT_LABEL;
    const each = (values: Values, f: (key: string, v: number) => void) => {
      for (const [k, v] of Object.entries(values)) if (v !== undefined) f(k, v === true ? 1 : v);
    };

    const m = {
      trackMultiaddrConnection: () => connections.inc(),
      trackProtocolStream: (stream: { protocol?: string }) => streams.inc({ protocol: stream.protocol ?? 'unnegotiated' }),
      registerMetric: (name: string, opts?: CalcOptions<number>) => {
        const g = gauge(name, opts as CalcOptions<number | Record<string, number>>);
        if (!g) return undefined;
        return {
          update: (v: number) => g.set(v),
          increment: (v = 1) => g.inc(v),
          decrement: (v = 1) => g.dec(v),
          reset: () => g.reset(),
          timer: () => g.startTimer(),
        };
      },
      registerMetricGroup: (name: string, opts?: CalcOptions<Record<string, number>>) => {
        const g = gauge(name, opts as CalcOptions<number | Record<string, number>>);
        if (!g) return undefined;
        const l = labelOf(opts);
        return {
          update: (values: Values) => each(values, (k, v) => g.set({ [l]: k }, v)),
          increment: (values: Values) => each(values, (k, v) => g.inc({ [l]: k }, v)),
          decrement: (values: Values) => each(values, (k, v) => g.dec({ [l]: k }, v)),
          reset: () => g.reset(),
          timer: (key: string) => g.startTimer({ [l]: key }),
        };
      },
      registerCounter: (name: string, opts?: CalcOptions<number>) => {
        const c = counter(name, opts as CalcOptions<number | Record<string, number>>);
        if (!c) return undefined;
        return { increment: (v = 1) => c.inc(v), reset: () => c.reset() };
      },
      registerCounterGroup: (name: string, opts?: CalcOptions<Record<string, number>>) => {
        const c = counter(name, opts as CalcOptions<number | Record<string, number>>);
        if (!c) return undefined;
        const l = labelOf(opts);
        return { increment: (values: Values) => each(values, (k, v) => c.inc({ [l]: k }, v)), reset: () => c.reset() };
      },
      registerHistogram: (name: string, opts?: CalcOptions<number>) => {
        const h = histogram(name, opts as CalcOptions<number | Record<string, number>>);
        if (!h) return undefined;
        return { observe: (v: number) => h.observe(v), reset: () => h.reset(), timer: () => h.startTimer() };
      },
      registerHistogramGroup: (name: string, opts?: CalcOptions<Record<string, number>>) => {
        const h = histogram(name, opts as CalcOptions<number | Record<string, number>>);
        if (!h) return undefined;
        const l = labelOf(opts);
        return {
          observe: (values: Partial<Record<string, number>>) => each(values, (k, v) => h.observe({ [l]: k }, v)),
          reset: () => h.reset(),
          timer: (key: string) => h.startTimer({ [l]: key }),
        };
      },
      registerSummary: (name: string, opts?: CalcOptions<number>) => {
        const s = summary(name, opts as CalcOptions<number | Record<string, number>>);
        if (!s) return undefined;
        return { observe: (v: number) => s.observe(v), reset: () => s.reset(), timer: () => s.startTimer() };
      },
      registerSummaryGroup: (name: string, opts?: CalcOptions<Record<string, number>>) => {
        const s = summary(name, opts as CalcOptions<number | Record<string, number>>);
        if (!s) return undefined;
        const l = labelOf(opts);
        return {
          observe: (values: Partial<Record<string, number>>) => each(values, (k, v) => s.observe({ [l]: k }, v)),
          reset: () => s.reset(),
          timer: (key: string) => s.startTimer({ [l]: key }),
        };
      },
      // No tracing backend: functions run as they are.
      traceFunction: <F>(_name: string, fn: F) => fn,
      createTrace: () => undefined,
    };
    return m as unknown as Metrics;
  };
}
