/**
 * `npm run drills [-- --quick] [-- --only <regex>]`: runs each drill, writes
 * drills/results/latest.md and .json (quick.* for --quick), and exits 1
 * when a promise does not hold. drills/drills.sh builds what this needs.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { killAllNow, repoRoot, stopAll } from "../bench/processes.js";
import type { Drill, DrillMode, DrillResult } from "./drill.js";
import { clusterFailover, sentinelFailover, sentinelFailoverWait } from "./failover.js";
import { fuzz } from "./fuzz.js";
import { lockSafety } from "./lock-safety.js";
import { memoryBounds } from "./memory-bounds.js";
import { redisRestart } from "./redis-restart.js";
import { soak } from "./soak.js";

const drills: readonly Drill[] = [redisRestart, sentinelFailover, sentinelFailoverWait, clusterFailover, lockSafety, soak, fuzz, memoryBounds];

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

function render(mode: DrillMode, started: Date, results: readonly { drill: Drill; result: DrillResult }[]): string {
  const lines = [
    `# Larder fault drills (${mode})`,
    "",
    `${started.toISOString()}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}. Reproduce with \`npm run drills${mode === "quick" ? " -- --quick" : ""}\`.`,
    "",
    "| Drill | Promise | Holds | Figures |",
    "| --- | --- | --- | --- |",
  ];
  for (const { drill, result } of results) {
    const figures = Object.entries(result.figures).map(([k, v]) => `${k}: ${v}`).join("; ");
    lines.push(`| ${drill.id} | ${drill.promise} | ${result.held ? "yes" : "**no**"} | ${figures} |`);
  }
  for (const { drill, result } of results) {
    if (!result.held) lines.push("", `**${drill.id}** did not hold: ${result.failures.join("; ")}`);
  }
  return lines.join("\n") + "\n";
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const mode: DrillMode = args.includes("--quick") ? "quick" : "full";
  const only = option(args, "--only");
  const out = resolve(option(args, "--out") ?? join(repoRoot(), "drills", "results"));
  const root = repoRoot();
  const started = new Date();
  const results: { drill: Drill; result: DrillResult }[] = [];
  for (const drill of drills) {
    if (only !== undefined && !new RegExp(only).test(drill.id)) continue;
    const workDir = mkdtempSync(join(tmpdir(), `larder-drill-${drill.id}-`));
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    log(`drills: ${drill.id} (${mode})`);
    try {
      const result = await drill.run({ mode, root, workDir, log });
      results.push({ drill, result });
      log(`drills: ${drill.id} ${result.held ? "held" : "DID NOT HOLD"}: ${JSON.stringify(result.figures)}`);
    } catch (err) {
      results.push({ drill, result: { held: false, figures: {}, failures: [`the drill itself failed: ${err instanceof Error ? err.message : String(err)}`] } });
    } finally {
      await stopAll();
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  mkdirSync(out, { recursive: true });
  const name = mode === "quick" ? "quick" : "latest";
  const markdown = render(mode, started, results);
  writeFileSync(join(out, `${name}.md`), markdown);
  writeFileSync(join(out, `${name}.json`), JSON.stringify({ mode, started: started.toISOString(), drills: results.map(({ drill, result }) => ({ id: drill.id, promise: drill.promise, ...result })) }, null, 2) + "\n");
  process.stdout.write(markdown);
  const failed = results.filter((r) => !r.result.held).length;
  process.stdout.write(`\ndrills: ${results.length - failed} passed, ${failed} failed\n`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

process.once("exit", killAllNow);
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`drills: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    void stopAll().finally(() => process.exit(1));
  },
);
