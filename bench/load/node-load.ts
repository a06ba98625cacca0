/**
 * The Node load generator, run as its own process so that it never shares
 * an event loop (or a core's time slice accounting) with a server. It runs
 * `inFlight` loops that each make one call after another, and reports on
 * stdout as JSON lines: `measuring` when the warm-up ends, `measured` when
 * the window closes (the bench reads CPU times at both), then `done` with
 * the result, or `error`.
 */
import { childConfig } from "../child.js";
import type { DriverKind, NodeLoadConfig, OpenDriver } from "./driver.js";
import { latencySummary, type LoadResult } from "./result.js";

/** One line of the load generator's stdout. */
export type NodeLoadEvent =
  | { readonly event: "measuring" }
  | { readonly event: "measured" }
  | { readonly event: "done"; readonly result: LoadResult }
  | { readonly event: "error"; readonly message: string };

function emit(event: NodeLoadEvent): void {
  process.stdout.write(JSON.stringify(event) + "\n");
}

async function driverFor(kind: DriverKind): Promise<OpenDriver> {
  // Imported on demand so that, say, an HTTP/1.1 run does not carry the
  // SDK and ioredis modules in its heap.
  switch (kind) {
    case "sdk-grpc":
      return (await import("./drivers.js")).openSdkGrpc;
    case "ioredis":
      return (await import("../baselines/ioredis-direct.js")).openIoredis;
    case "ioredis-cluster":
      return (await import("../baselines/ioredis-direct.js")).openIoredisCluster;
  }
}

/** A growable list of latencies, kept as doubles to spare the GC a million boxed numbers. */
class Latencies {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(us: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = us;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

async function run(config: NodeLoadConfig): Promise<LoadResult> {
  const driver = await (await driverFor(config.driver))(config);
  try {
    // One real call before the clock starts: a broken setup must fail here,
    // not show up as a very fast run of errors.
    await driver.call(0);
    const latencies = new Latencies();
    let measuring = false;
    let stopped = false;
    let errors = 0;
    let firstError: string | undefined;
    let windowStart = 0;
    let windowEnd = 0;

    const loop = async (index: number): Promise<void> => {
      while (!stopped) {
        const started = performance.now();
        try {
          await driver.call(index);
          if (measuring) latencies.push((performance.now() - started) * 1000);
        } catch (err) {
          if (measuring) {
            errors++;
            firstError ??= err instanceof Error ? err.message : String(err);
          }
        }
      }
    };

    const warmupTimer = setTimeout(() => {
      measuring = true;
      windowStart = performance.now();
      emit({ event: "measuring" });
    }, config.warmupSeconds * 1000);
    const stopTimer = setTimeout(
      () => {
        measuring = false;
        stopped = true;
        windowEnd = performance.now();
        emit({ event: "measured" });
      },
      (config.warmupSeconds + config.durationSeconds) * 1000,
    );
    await Promise.all(Array.from({ length: config.inFlight }, (_, i) => loop(i)));
    clearTimeout(warmupTimer);
    clearTimeout(stopTimer);

    const seconds = (windowEnd - windowStart) / 1000;
    const { p50Us, p99Us } = latencySummary(latencies.values());
    return {
      calls: latencies.length,
      seconds,
      callsPerSec: latencies.length / seconds,
      p50Us,
      p99Us,
      errors,
      ...(firstError === undefined ? {} : { firstError }),
    };
  } finally {
    await driver.close();
  }
}

run(childConfig<NodeLoadConfig>()).then(
  (result) => {
    emit({ event: "done", result });
    process.exit(0);
  },
  (err: unknown) => {
    emit({ event: "error", message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);
