/**
 * `npm run bench`: measures Larder against baselines on this machine, every
 * server and load generator in its own process, and writes the report.
 * bench/bench.sh builds what this needs first; see README "Performance".
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { renderSvg } from "./chart.js";
import { compare } from "./compare.js";
import { procLoadavg } from "./cpu.js";
import { headline } from "./headline.js";
import { rateLabel, latencyLabel } from "./labels.js";
import { runCase, type Row } from "./measure.js";
import { parseOptions, usage, type BenchOptions } from "./options.js";
import { fullPlan, quickPlan, type Case } from "./plan.js";
import { killAllNow, repoRoot, stopAll } from "./processes.js";
import { busyLoadAverage, renderJson, renderMarkdown, type BenchReport } from "./report.js";
import { Targets } from "./targets.js";

function h2loadVersion(): string {
  try {
    return execFileSync("h2load", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "h2load (unknown version)";
  }
}

const log = (line: string): void => void process.stderr.write(line + "\n");

async function measureAll(plan: readonly Case[], options: BenchOptions, root: string): Promise<BenchReport> {
  // Read before anything starts, so that the bench's own servers are not in it.
  const loadavgLine = procLoadavg();
  const loadAvgStart = loadavgLine === undefined ? loadavg() : loadavgLine.split(/\s+/).slice(0, 3).map(Number);
  if ((loadAvgStart[0] ?? 0) > busyLoadAverage) {
    log(`bench: load average is ${loadAvgStart[0]?.toFixed(2)} (above ${busyLoadAverage}); figures will be noisy and say so.`);
  }
  const perCase = options.warmupSeconds + options.durationSeconds + 0.7;
  const estimate = plan.length * perCase;
  const about = estimate < 120 ? `${Math.ceil(estimate)} s` : `${Math.ceil(estimate / 60)} min`;
  log(`bench: ${plan.length} cases, about ${about} (${options.warmupSeconds} s warm-up + ${options.durationSeconds} s each)`);
  const workDir = mkdtempSync(join(tmpdir(), "larder-bench-"));
  const targets = new Targets({ repoRoot: root, larderArgs: options.larderArgs, larderNodeArgs: options.larderNodeArgs, larderEnv: options.larderEnv, workDir });
  const rows: Row[] = [];
  const failures: { id: string; error: string }[] = [];
  try {
    for (const [i, c] of plan.entries()) {
      const progress = `[${i + 1}/${plan.length}] ${c.id}`;
      try {
        const row = await runCase(c, targets, { warmupSeconds: options.warmupSeconds, durationSeconds: options.durationSeconds, workDir });
        rows.push(row);
        log(`${progress}: ${rateLabel(row.callsPerSec)} calls/s, p50 ${latencyLabel(row.p50Us)}, p99 ${latencyLabel(row.p99Us)}${row.errors > 0 ? `, ${row.errors} errors` : ""}`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        failures.push({ id: c.id, error });
        log(`${progress}: FAILED: ${error}`);
      }
    }
  } finally {
    await targets.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  const cpu = cpus();
  return {
    generatedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    quick: options.quick,
    settings: {
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      larderArgs: options.larderArgs,
      larderEnv: options.larderEnv,
    },
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? "unknown CPU",
      node: process.version,
      h2load: h2loadVersion(),
      loadAvgStart,
      ...(loadavgLine === undefined ? {} : { procLoadavgStart: loadavgLine }),
      loadAvgEnd: loadavg(),
    },
    rows,
    comparisons: compare(rows),
    ...headline(rows),
    failures,
  };
}

async function main(): Promise<number> {
  let options: BenchOptions | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    log(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(usage + "\n");
    return 0;
  }
  const root = repoRoot();
  const only = options.only;
  const plan = (options.quick ? quickPlan() : fullPlan()).filter((c) => only === undefined || only.test(c.id));
  if (plan.length === 0) {
    log("bench: no case matches --only");
    return 2;
  }
  const report = await measureAll(plan, options, root);
  const markdown = renderMarkdown(report);
  const outDir = resolve(root, options.outDir);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${options.name}.md`), markdown);
  writeFileSync(join(outDir, `${options.name}.json`), renderJson(report));
  writeFileSync(join(outDir, `${options.name}.svg`), renderSvg(report));
  process.stdout.write(markdown);
  log(`bench: wrote ${join(options.outDir, options.name)}.{md,json,svg}`);
  // Thresholds are never asserted; a case that could not run, or whose
  // calls failed, is a broken bench and fails the command (and CI).
  const broken = report.failures.length + report.rows.filter((r) => r.errors > 0).length;
  if (broken > 0) log(`bench: ${broken} case(s) failed or had errors; see the notes above`);
  return broken > 0 ? 1 : 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`bench: ${signal}, stopping servers`);
    void stopAll().finally(() => process.exit(130));
  });
}
process.once("exit", killAllNow);

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
