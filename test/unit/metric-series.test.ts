import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createCounterFamily, createHistogramFamily } from "../../server/core/metric-series.js";

const buckets = [0.001, 0.01, 0.1, 1];
const values = [0.0005, 0.001, 0.002, 0.05, 0.05, 0.7, 3, 0];

describe("metric series", () => {
  it("scrape as exactly what prom-client's Counter and Histogram would", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const calls = createCounterFamily({ name: "t_calls_total", help: "Calls.", labelNames: ["method", "code"], registry: ours });
    const times = createHistogramFamily({ name: "t_seconds", help: "Times.", labelNames: ["method"], buckets, registry: ours });
    const refCalls = new Counter({ name: "t_calls_total", help: "Calls.", labelNames: ["method", "code"], registers: [theirs] });
    const refTimes = new Histogram({ name: "t_seconds", help: "Times.", labelNames: ["method"], buckets, registers: [theirs] });
    for (const [i, v] of values.entries()) {
      const method = i % 3 === 0 ? "Set" : "Get";
      calls.series(method, "ok").inc();
      refCalls.inc({ method, code: "ok" });
      times.series(method).observe(v);
      refTimes.observe({ method }, v);
    }
    calls.series("Get", "not_found").inc(4);
    refCalls.inc({ method: "Get", code: "not_found" }, 4);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it("counts each observation in its bucket, cumulatively, with sum and count", async () => {
    const registry = new Registry();
    const times = createHistogramFamily({ name: "t_seconds", help: "Times.", labelNames: ["op"], buckets, registry });
    for (const v of values) times.series("get").observe(v);
    times.series("get").observe(Number.NaN);
    const text = await registry.metrics();
    expect(text).toContain('t_seconds_bucket{le="0.001",op="get"} 3\n');
    expect(text).toContain('t_seconds_bucket{le="0.01",op="get"} 4\n');
    expect(text).toContain('t_seconds_bucket{le="0.1",op="get"} 6\n');
    expect(text).toContain('t_seconds_bucket{le="1",op="get"} 7\n');
    expect(text).toContain('t_seconds_bucket{le="+Inf",op="get"} 8\n');
    expect(text).toContain('t_seconds_count{op="get"} 8\n');
    expect(text).toMatch(/^t_seconds_sum\{op="get"\} 3\.803\d*$/m);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('t_seconds_count{op="get"} 0\n');
  });

  it("refuses label values that do not match the label names", () => {
    const registry = new Registry();
    const calls = createCounterFamily({ name: "t_total", help: "T.", labelNames: ["a", "b"], registry });
    expect(() => calls.series("x")).toThrow(/expected 2 label values/);
  });
});
