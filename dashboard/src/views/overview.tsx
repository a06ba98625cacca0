import type { Api } from "../api.js";
import { LineChart, type Series } from "../chart.js";
import { clock, ms, num } from "../format.js";
import { usePoll } from "../poll.js";
import type { StatsSample } from "../../../server/gen/larder/v1/admin_pb.js";

const cacheService = "larder.v1.CacheService";
const windowMs = 15 * 60_000;

/** Options of {@link Overview}. */
export interface OverviewProps {
  readonly api: Api;
  /** Opens the key browser on a namespace (without auth). */
  readonly openNamespace: (ns: string) => void;
  /** Whether the namespace can be picked (no API key in use). */
  readonly canPick: boolean;
}

/** Live rates, hit ratio and latencies of the server, store health and namespaces; polled every 5 s. */
export function Overview(props: OverviewProps) {
  const stats = usePoll(() => props.api.admin.getStats({}), 5000, [props.api]);
  const spaces = usePoll(() => props.api.admin.listNamespaces({}), 10_000, [props.api]);
  const samples = stats.data?.samples ?? [];
  const end = ms(samples.at(-1)?.time) ?? Date.now();
  const range = [end - windowMs, end] as const;
  const last = samples.at(-1);
  const byMethod = (pick: (m: StatsSample["methods"][number]) => number): Series[] => {
    const names = [...new Set(samples.flatMap((s) => s.methods.filter((m) => m.service === cacheService).map((m) => m.method)))].sort();
    return names.map((name) => ({
      name,
      points: samples.map((s) => {
        const m = s.methods.find((x) => x.service === cacheService && x.method === name);
        return [ms(s.time) ?? 0, m === undefined ? 0 : pick(m)] as const;
      }),
    }));
  };
  const hit: Series[] = samples.some((s) => s.readsPerSecond > 0)
    ? [{ name: "hit ratio (Get, GetMany)", points: samples.filter((s) => s.readsPerSecond > 0).map((s) => [ms(s.time) ?? 0, s.hitRatio] as const) }]
    : [];
  return (
    <section class="view" data-view="overview">
      {stats.error !== undefined ? <p class="error" role="alert">{stats.error}</p> : null}
      <div class="cards">
        <div class="card">
          <div class="label">Store</div>
          <div class="value">{stats.data?.storeKind ?? "…"}</div>
        </div>
        <div class="card">
          <div class="label">Health</div>
          <div class={`value ${stats.data === undefined ? "" : stats.data.serving ? "ok" : "bad"}`} data-testid="health">
            {stats.data === undefined ? "…" : stats.data.serving ? "SERVING" : "NOT SERVING"}
          </div>
        </div>
        <div class="card">
          <div class="label">Calls/s (CacheService)</div>
          <div class="value">{num((last?.methods ?? []).filter((m) => m.service === cacheService).reduce((a, m) => a + m.callsPerSecond, 0))}</div>
        </div>
        <div class="card">
          <div class="label">Hit ratio</div>
          <div class="value">{last === undefined || last.readsPerSecond === 0 ? "—" : `${num(last.hitRatio * 100)} %`}</div>
        </div>
        <div class="card">
          <div class="label">Up since</div>
          <div class="value small">{clock(ms(stats.data?.startedAt))}</div>
        </div>
      </div>
      <div class="charts">
        <LineChart title="Calls per second, by method" series={byMethod((m) => m.callsPerSecond)} range={range} unit={(v) => num(v)} />
        <LineChart title="Hit ratio" series={hit} range={range} unit={(v) => `${num(v * 100, 0)} %`} max={1} />
        <LineChart title="p99 latency (ms), by method" series={byMethod((m) => m.p99Ms)} range={range} unit={(v) => `${num(v, 2)} ms`} />
      </div>
      <div class="columns">
        <div>
          <h2>Store operations (last interval)</h2>
          <table>
            <thead>
              <tr><th>op</th><th>calls/s</th><th>errors/s</th><th>p50 ms</th><th>p99 ms</th></tr>
            </thead>
            <tbody>
              {(last?.store ?? []).map((s) => (
                <tr key={s.op} class={s.errorsPerSecond > 0 ? "bad" : ""}>
                  <td>{s.op}</td><td>{num(s.callsPerSecond)}</td><td>{num(s.errorsPerSecond)}</td><td>{num(s.p50Ms, 2)}</td><td>{num(s.p99Ms, 2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div>
          <h2>Namespaces {spaces.data?.approximate === true ? <span class="muted">(approximate)</span> : null}</h2>
          {spaces.error !== undefined ? <p class="error" role="alert">{spaces.error}</p> : null}
          <table data-testid="namespaces">
            <thead>
              <tr><th>namespace</th><th>keys</th></tr>
            </thead>
            <tbody>
              {(spaces.data?.namespaces ?? []).map((n) => (
                <tr key={n.name}>
                  <td>
                    {props.canPick ? (
                      <button type="button" class="link" onClick={() => props.openNamespace(n.name)}>{n.name}</button>
                    ) : (
                      n.name
                    )}
                  </td>
                  <td>{String(n.keys)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
