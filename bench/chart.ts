import type { Comparison } from "./compare.js";
import { caseLabel, ratioLabel } from "./labels.js";
import type { Case } from "./plan.js";
import type { BenchReport } from "./report.js";

const width = 960;
const labelWidth = 470;
const barsWidth = width - labelWidth - 70;
const rowHeight = 30;
const top = 64;
const throughputColor = "#3a6ea5";
const cpuColor = "#d9822b";
// Ratios beyond this are clipped (and say so) so one outlier cannot squash every other bar.
const maxScale = 4;

const escape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function text(x: number, y: number, content: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs === "" ? "" : " " + attrs}>${escape(content)}</text>`;
}

/**
 * The comparisons as a hand-written SVG bar chart: per Larder row and
 * baseline, throughput ratio and CPU-per-call ratio, with a line at 1×
 * (the baseline). No dependencies, a few KB, diffable in a commit.
 */
export function renderSvg(report: BenchReport): string {
  const byId = new Map<string, Case>(report.rows.map((r) => [r.id, r]));
  const comparisons = report.comparisons.filter((c) => byId.has(c.larder));
  const largest = Math.max(1.25, ...comparisons.flatMap((c) => [c.throughput, c.cpuPerCall].filter(Number.isFinite)));
  const scale = Math.min(maxScale, Math.ceil(largest * 2) / 2);
  const x = (ratio: number): number => labelWidth + (Math.min(ratio, scale) / scale) * barsWidth;
  const height = top + Math.max(1, comparisons.length) * rowHeight + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(12, 22, `Larder relative to its baselines (same run${report.quick ? ", --quick smoke test" : ""}; ${report.generatedAt})`, 'font-size="15" font-weight="bold"'),
    `<rect x="12" y="34" width="12" height="10" fill="${throughputColor}"/>`,
    text(30, 43, "calls/s ÷ baseline (above 1×: Larder faster)"),
    `<rect x="320" y="34" width="12" height="10" fill="${cpuColor}"/>`,
    text(338, 43, "CPU per call ÷ baseline (above 1×: Larder costs more)"),
  ];
  if (comparisons.length === 0) out.push(text(12, top + 18, "No Larder row had a baseline in this run."));
  for (let tick = 0; tick <= scale + 1e-9; tick += scale > 2 ? 1 : 0.5) {
    const tx = x(tick);
    out.push(`<line x1="${tx.toFixed(1)}" y1="${top - 6}" x2="${tx.toFixed(1)}" y2="${height - 34}" stroke="${tick === 1 ? "#333" : "#ddd"}"${tick === 1 ? ' stroke-dasharray="4 3"' : ""}/>`);
    out.push(text(tx, height - 20, `${tick}×`, 'text-anchor="middle" fill="#555"'));
  }
  comparisons.forEach((c: Comparison, i) => {
    const row = byId.get(c.larder) as Case;
    const y = top + i * rowHeight;
    const via = row.section === "grpc-sdk" ? " (SDK)" : row.section === "connect-json-h1" ? " (HTTP/1.1)" : "";
    out.push(text(12, y + 12, `${caseLabel(row)}${via}`));
    out.push(text(12, y + 25, `vs ${c.baselineLabel}`, 'fill="#666"'));
    const bars: [number, string, number][] = [
      [c.throughput, throughputColor, y + 3],
      [c.cpuPerCall, cpuColor, y + 15],
    ];
    for (const [ratio, color, by] of bars) {
      if (!Number.isFinite(ratio)) continue;
      const end = x(ratio);
      out.push(`<rect x="${labelWidth}" y="${by}" width="${Math.max(1, end - labelWidth).toFixed(1)}" height="10" fill="${color}"/>`);
      out.push(text(end + 4, by + 9, ratio > scale ? `${ratioLabel(ratio)} →` : ratioLabel(ratio), 'font-size="11"'));
    }
  });
  out.push("</svg>", "");
  return out.join("\n");
}
