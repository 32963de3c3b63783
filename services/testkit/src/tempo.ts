/**
 * Reads traces back from Tempo's HTTP API, the same endpoints Grafana's Tempo datasource calls: TraceQL search,
 * trace by id, and the tag values behind the search tab's service picker.
 */

export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** OTLP kind without prefix: SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL. */
  kind: string;
  service: string;
  scope: string;
  attributes: Record<string, string | number | boolean>;
  startTimeUnixNano: bigint;
}

export interface SearchHit {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: string;
  startTimeUnixNano: string;
  attributes?: OtlpAttribute[];
}
interface OtlpResourceSpans {
  resource?: { attributes?: OtlpAttribute[] };
  scopeSpans?: Array<{ scope?: { name?: string }; spans?: OtlpSpan[] }>;
}

/** Tempo's JSON carries ids as base64 of the bytes; W3C and TraceQL results use lowercase hex. */
function idToHex(id: string | undefined): string | null {
  if (!id) return null;
  if (/^[0-9a-f]+$/.test(id) && (id.length === 16 || id.length === 32)) return id;
  return Buffer.from(id, 'base64').toString('hex');
}

function attributeValue(value: OtlpValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return JSON.stringify(value);
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((attribute) => [attribute.key, attributeValue(attribute.value)]));
}

export class TempoClient {
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  private async getJson<T>(path: string, query: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    if (response.status !== 200 && response.status !== 404) {
      throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`);
    }
    return { status: response.status, body: (response.status === 200 ? JSON.parse(text) : undefined) as T };
  }

  /** Traces matching a TraceQL query over the last `sinceSeconds` (as Grafana's Explore sends it). */
  async search(traceQl: string, options: { limit?: number; sinceSeconds?: number } = {}): Promise<SearchHit[]> {
    const end = Math.ceil(Date.now() / 1000) + 60;
    const start = end - (options.sinceSeconds ?? 3600) - 60;
    const { body } = await this.getJson<{ traces?: SearchHit[] }>('/api/search', {
      q: traceQl,
      limit: String(options.limit ?? 20),
      start: String(start),
      end: String(end),
    });
    // Tempo's search answers drop the leading zeros of a trace id (seen with 07e1…); ids elsewhere have all 32 digits.
    return (body.traces ?? []).map((hit) => ({ ...hit, traceID: hit.traceID.padStart(32, '0') }));
  }

  /** Every stored span of one trace, flattened; empty when Tempo does not know the id (yet). */
  async trace(traceId: string): Promise<StoredSpan[]> {
    const { status, body } = await this.getJson<{ batches?: OtlpResourceSpans[]; resourceSpans?: OtlpResourceSpans[] }>(
      `/api/traces/${traceId}`,
    );
    if (status === 404) return [];
    const spans: StoredSpan[] = [];
    for (const resourceSpans of body.batches ?? body.resourceSpans ?? []) {
      const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          spans.push({
            traceId: idToHex(span.traceId) ?? '',
            spanId: idToHex(span.spanId) ?? '',
            parentSpanId: idToHex(span.parentSpanId),
            name: span.name,
            kind: (span.kind ?? 'SPAN_KIND_INTERNAL').replace(/^SPAN_KIND_/, ''),
            service,
            scope: scopeSpans.scope?.name ?? '',
            attributes: attributesOf(span.attributes),
            startTimeUnixNano: BigInt(span.startTimeUnixNano),
          });
        }
      }
    }
    return spans;
  }

  /** Values of a tag, e.g. `resource.service.name` for the search tab's service picker. */
  async tagValues(scopedTag: string): Promise<string[]> {
    const { body } = await this.getJson<{ tagValues?: Array<{ value: string }> }>(
      `/api/v2/search/tag/${encodeURIComponent(scopedTag)}/values`,
    );
    return (body.tagValues ?? []).map((tag) => tag.value);
  }
}

/** `span` and its ancestors up to the root, following the stored parent ids. */
export function pathToRoot(span: StoredSpan, spans: StoredSpan[]): StoredSpan[] {
  const byId = new Map(spans.map((candidate) => [candidate.spanId, candidate]));
  const path: StoredSpan[] = [];
  let current: StoredSpan | undefined = span;
  while (current && !path.includes(current)) {
    path.push(current);
    current = current.parentSpanId ? byId.get(current.parentSpanId) : undefined;
  }
  return path;
}
