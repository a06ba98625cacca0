import type { Comparison } from "./compare.js";
import type { Headline } from "./headline.js";
import { callLabel, latencyLabel, rateLabel, ratioLabel, sectionTitle, shapeLabel, sizeLabel, targetLabel } from "./labels.js";
import type { Row } from "./measure.js";
import { sections, type Case } from "./plan.js";

/** Everything one run found, as written to `<name>.json`. */
export interface BenchReport extends Headline {
  readonly generatedAt: string;
  readonly quick: boolean;
  readonly settings: {
    readonly warmupSeconds: number;
    readonly durationSeconds: number;
    readonly larderArgs: readonly string[];
    readonly larderEnv: Readonly<Record<string, string>>;
  };
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly h2load: string;
    /** 1, 5 and 15 minute load averages when the run started and ended. */
    readonly loadAvgStart: readonly number[];
    /** /proc/loadavg as it read when the run started, where there is a /proc. */
    readonly procLoadavgStart?: string;
    readonly loadAvgEnd: readonly number[];
  };
  readonly rows: readonly Row[];
  readonly comparisons: readonly Comparison[];
  /** Cases that could not be measured, with the reason. */
  readonly failures: readonly { readonly id: string; readonly error: string }[];
}

/** Above this 1-minute load average at the start, the report says its figures are not to be trusted. */
export const busyLoadAverage = 1.5;

// Thresholds for the per-row notes: they flag rows, never fail a run.
const saturatedLoadgenPct = 90;
const noisyOtherCores = 0.25;

function notes(row: Row): string {
  const out: string[] = [];
  if (row.errors > 0) out.push(`⚠ ${row.errors} errors: ${row.firstError ?? ""}`);
  if (row.loadgenCorePct >= saturatedLoadgenPct) out.push("load generator saturated");
  if (row.otherCores >= noisyOtherCores) out.push(`other load ${row.otherCores.toFixed(2)} cores`);
  return out.join("; ");
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const tableRow = (cells: readonly string[]): string => `| ${cells.map(cell).join(" | ")} |`;
const cpu = (us: number | undefined): string => (us === undefined ? "—" : us.toFixed(1));

function resultsTable(rows: readonly Row[]): string[] {
  const lines = [
    tableRow(["Target", "Call", "Value", "In flight × conns", "calls/s", "p50", "p99", "CPU µs/call", "of which Redis", "load gen", "notes"]),
    tableRow(["---", "---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"]),
  ];
  for (const r of rows) {
    lines.push(
      tableRow([
        targetLabel[r.target],
        callLabel(r),
        sizeLabel(r.valueBytes),
        shapeLabel(r),
        rateLabel(r.callsPerSec),
        latencyLabel(r.p50Us),
        latencyLabel(r.p99Us),
        cpu(r.cpuUsPerCall),
        cpu(r.redisCpuUsPerCall),
        `${Math.round(r.loadgenCorePct)} %`,
        notes(r),
      ]),
    );
  }
  return lines;
}

/** The notes of the rows a headline figure was computed from, each once. */
function notesOf(report: BenchReport, ids: readonly string[]): string {
  const all = report.rows.filter((r) => ids.includes(r.id) && notes(r) !== "").map((r) => `${targetLabel[r.target]}: ${notes(r)}`);
  return [...new Set(all)].join("; ");
}

function targetsTable(report: BenchReport): string[] {
  const lines = [tableRow(["Measure", "Target", "This run", "Holds", "notes"]), tableRow(["---", "---:", "---:", "---", "---"])];
  for (const t of report.targets) {
    const holds = t.holds === undefined ? "— not measured" : t.holds ? "✓ yes" : "✗ no";
    lines.push(tableRow([t.measure, `${t.direction} ${ratioLabel(t.target)}`, t.value === undefined ? "—" : ratioLabel(t.value), holds, notesOf(report, t.rows)]));
  }
  return lines;
}

function derivedTable(report: BenchReport): string[] {
  const lines = [tableRow(["Measure", "Ratio", "notes"]), tableRow(["---", "---:", "---"])];
  for (const r of report.ratios) lines.push(tableRow([r.label, ratioLabel(r.value), notesOf(report, r.rows)]));
  return lines;
}

function comparisonTable(report: BenchReport): string[] {
  const byId = new Map<string, Case>(report.rows.map((r) => [r.id, r]));
  const lines = [
    tableRow(["Larder", "Call", "Value", "In flight × conns", "vs baseline", "calls/s ×", "p50 ×", "p99 ×", "CPU/call ×"]),
    tableRow(["---", "---", "---", "---:", "---", "---:", "---:", "---:", "---:"]),
  ];
  for (const c of report.comparisons) {
    const row = byId.get(c.larder);
    if (row === undefined) continue;
    const via = row.section === "grpc-raw" ? "" : row.section === "grpc-sdk" ? " (SDK)" : " (HTTP/1.1 JSON)";
    lines.push(
      tableRow([
        `${targetLabel[row.target]}${via}`,
        callLabel(row),
        sizeLabel(row.valueBytes),
        shapeLabel(row),
        c.baselineLabel,
        ratioLabel(c.throughput),
        ratioLabel(c.p50),
        ratioLabel(c.p99),
        ratioLabel(c.cpuPerCall),
      ]),
    );
  }
  return lines;
}

/** The whole report as Markdown: what `npm run bench` prints and writes to `<name>.md`. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const s = report.settings;
  const load = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(" / ");
  const lines: string[] = [
    `# Larder benchmark${report.quick ? " (--quick smoke test)" : ""}`,
    "",
    `${report.generatedAt} · ${m.cpus} × ${m.cpuModel} · Node ${m.node} · ${m.h2load} · ` +
      `${s.warmupSeconds} s warm-up + ${s.durationSeconds} s measured per case` +
      (s.larderArgs.length > 0 ? ` · \`larder serve ${s.larderArgs.join(" ")}\`` : "") +
      (Object.keys(s.larderEnv).length > 0 ? ` · env ${Object.entries(s.larderEnv).map(([k, v]) => `${k}=${v}`).join(" ")}` : ""),
    "",
    `Load average at start (/proc/loadavg): ${m.procLoadavgStart ?? load(m.loadAvgStart)}; 1/5/15 min: ${load(m.loadAvgStart)} at start, ${load(m.loadAvgEnd)} at end.`,
  ];
  if (report.quick) lines.push("", "> A smoke test of the harness: windows this short measure start-up noise, not Larder.");
  if ((m.loadAvgStart[0] ?? 0) > busyLoadAverage) {
    lines.push("", `> ⚠ The machine was busy when the run started (load average above ${busyLoadAverage}): figures are not comparable with other runs.`);
  }
  for (const failure of report.failures) lines.push("", `> ⚠ \`${failure.id}\` could not be measured: ${cell(failure.error)}`);
  // A smoke test measures none of them; any other run says which it left out.
  if (!report.quick) {
    lines.push(
      "",
      "## Targets",
      "",
      ...targetsTable(report),
      "",
      "Each figure is computed from rows of this run only (raw gRPC, 100 B, one connection); “not measured” means the run left out a row it needs (e.g. with --only).",
    );
  }
  for (const section of sections) {
    const rows = report.rows.filter((r) => r.section === section);
    if (rows.length === 0) continue;
    lines.push("", `## ${sectionTitle[section]}`, "", ...resultsTable(rows));
  }
  if (report.comparisons.length > 0 || report.ratios.length > 0) lines.push("", "## Compared with baselines from the same run");
  if (report.comparisons.length > 0) lines.push("", ...comparisonTable(report));
  if (report.ratios.length > 0) lines.push("", ...derivedTable(report));
  lines.push(
    "",
    "calls/s × above 1 means Larder is faster than the baseline; p50 ×, p99 × and CPU/call × above 1 mean Larder is slower or costs more. " +
      "CPU µs/call is server CPU (the target's whole process tree, plus redis-server when the call reaches Redis) divided by calls; " +
      "“load gen” is the load generator's CPU as a share of one core: near 100 % it, not the server, may be the limit. " +
      "GetMany vs MGET compares keys/s, which is calls/s × 100 on both sides; on a Redis Cluster, where MGET cannot span slots, the ioredis baseline reads the 100 keys as GETs in one pipeline per master. " +
      "The 1-in-flight hop is Larder's p50 at one call in flight ÷ (bare node:http2's p50 + ioredis GET's p50, both at one in flight): above 1, Larder adds more than a socket that answers plus one Redis round trip.",
    "",
  );
  return lines.join("\n");
}

/** The report as JSON, with numbers rounded so that a committed file diffs readably. */
export function renderJson(report: BenchReport): string {
  return (
    JSON.stringify(
      report,
      (_key, value: unknown) => (typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value),
      2,
    ) + "\n"
  );
}
