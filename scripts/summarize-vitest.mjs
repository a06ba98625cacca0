// Prints one closing line for a vitest JSON report, and fails when a test
// was skipped: a skipped suite must never pass as a green run.
import { readFileSync } from "node:fs";

const report = JSON.parse(readFileSync(process.argv[2], "utf8"));
const passed = report.numPassedTests;
const failed = report.numFailedTests;
const skipped = report.numPendingTests + report.numTodoTests;
// Every store and topology that the conformance suites must pass on.
const required = ["memory", "redis", "redis-cluster", "redis-cluster-pinned", "redis-sentinel"];
const suites = new Set();
for (const file of report.testResults) {
  if (!file.name.includes("/test/conformance/")) continue;
  for (const t of file.assertionResults) {
    const m = /\[([a-z-]+) store\]/.exec(t.ancestorTitles.join(" "));
    if (m && t.status === "passed") suites.add(m[1]);
  }
}
console.log(`\nstores covered by passing conformance tests: ${[...suites].sort().join(", ") || "none"}`);
console.log(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (skipped > 0) {
  console.error("some tests were skipped; every suite must run");
  process.exit(1);
}
const missing = required.filter((kind) => !suites.has(kind));
if (missing.length > 0) {
  console.error(`the conformance suite must pass on every store; none passed on: ${missing.join(", ")}`);
  process.exit(1);
}
process.exit(failed > 0 || passed === 0 ? 1 : 0);
