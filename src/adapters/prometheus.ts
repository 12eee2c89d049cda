// The one Prometheus adapter: instant queries at an explicit time (so a check is reproducible and a
// fake clock can drive it), with a timeout and errors that say which of "unreachable", "timed out",
// "rejected the query" happened. An empty result is not an error: callers decide what "no data" means.

export type PrometheusErrorKind = 'timeout' | 'unreachable' | 'http' | 'query' | 'malformed';

export class PrometheusError extends Error {
  constructor(
    message: string,
    readonly kind: PrometheusErrorKind,
  ) {
    super(message);
  }
}

export interface Sample {
  labels: Record<string, string>;
  /** NaN and ±Inf come through as such (histogram_quantile over no traffic gives NaN). */
  value: number;
}

interface ApiAnswer {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}

export class Prometheus {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** Evaluates `promql` at `time`; a scalar comes back as one sample without labels. */
  async query(promql: string, time: Date): Promise<Sample[]> {
    const body = new URLSearchParams({ query: promql, time: (time.getTime() / 1000).toFixed(3), timeout: `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s` });
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new PrometheusError(`Prometheus at ${this.base} did not answer within ${this.timeoutMs} ms`, 'timeout');
      }
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new PrometheusError(`Prometheus at ${this.base} is unreachable: ${cause?.code ?? cause?.message ?? e.message}`, 'unreachable');
    }
    let answer: ApiAnswer;
    try {
      answer = (await res.json()) as ApiAnswer;
    } catch {
      throw new PrometheusError(`Prometheus at ${this.base} answered HTTP ${res.status} without a JSON body`, res.ok ? 'malformed' : 'http');
    }
    if (answer.status !== 'success' || !answer.data) {
      const kind = res.status === 400 || res.status === 422 ? 'query' : answer.errorType === 'timeout' ? 'timeout' : 'http';
      throw new PrometheusError(`Prometheus refused the query (${answer.errorType ?? `HTTP ${res.status}`}): ${answer.error ?? 'no reason given'}`, kind);
    }
    return toSamples(answer.data.resultType, answer.data.result);
  }

  /** The first sample's value, or undefined when the result is empty or not a number. */
  async value(promql: string, time: Date): Promise<number | undefined> {
    const [first] = await this.query(promql, time);
    return first && Number.isFinite(first.value) ? first.value : undefined;
  }
}

function toSamples(type: string, result: unknown): Sample[] {
  if (type === 'scalar') return [{ labels: {}, value: Number((result as [number, string])[1]) }];
  if (type === 'vector' && Array.isArray(result)) {
    return result.map((r: { metric?: Record<string, string>; value?: [number, string] }) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
  }
  throw new PrometheusError(`expected an instant vector or scalar, got ${type}`, 'malformed');
}
