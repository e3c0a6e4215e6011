/** Prometheus counters for the registry, rendered in the text exposition format at /metrics. */

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  private requests = new Map<string, number>();
  private durations = new Map<string, { buckets: number[]; sum: number; count: number }>();
  bytesIn = 0;
  bytesOut = 0;
  inFlight = 0;
  blobsCommitted = 0;
  manifestsPushed = 0;
  proxyHits = 0;
  proxyMisses = 0;
  readonly started = Date.now();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${method}",route="${route}",code="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const dkey = `method="${method}",route="${route}"`;
    let d = this.durations.get(dkey);
    if (!d) this.durations.set(dkey, (d = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) d.buckets[i]!++;
    });
    d.sum += seconds;
    d.count++;
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP registry_http_requests_total HTTP requests served, by method, route and status code.');
    out.push('# TYPE registry_http_requests_total counter');
    for (const [k, v] of this.requests) out.push(`registry_http_requests_total{${k}} ${v}`);
    out.push('# HELP registry_http_request_duration_seconds Time to serve a request.');
    out.push('# TYPE registry_http_request_duration_seconds histogram');
    for (const [k, d] of this.durations) {
      BUCKETS.forEach((b, i) => out.push(`registry_http_request_duration_seconds_bucket{${k},le="${b}"} ${d.buckets[i]}`));
      out.push(`registry_http_request_duration_seconds_bucket{${k},le="+Inf"} ${d.count}`);
      out.push(`registry_http_request_duration_seconds_sum{${k}} ${d.sum}`);
      out.push(`registry_http_request_duration_seconds_count{${k}} ${d.count}`);
    }
    const simple: [string, string, string, number][] = [
      ['registry_http_requests_in_flight', 'gauge', 'Requests being served.', this.inFlight],
      ['registry_storage_bytes_received_total', 'counter', 'Request body bytes received.', this.bytesIn],
      ['registry_storage_bytes_sent_total', 'counter', 'Blob and manifest bytes sent.', this.bytesOut],
      ['registry_blobs_committed_total', 'counter', 'Blob uploads verified and committed.', this.blobsCommitted],
      ['registry_manifests_pushed_total', 'counter', 'Manifests stored.', this.manifestsPushed],
      ['registry_proxy_hits_total', 'counter', 'Pull-through cache hits.', this.proxyHits],
      ['registry_proxy_misses_total', 'counter', 'Pull-through cache misses fetched from the remote.', this.proxyMisses],
      ['registry_uptime_seconds', 'gauge', 'Seconds since start.', (Date.now() - this.started) / 1000],
    ];
    for (const [name, type, help, v] of simple) out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${v}`);
    return out.join('\n') + '\n';
  }
}
