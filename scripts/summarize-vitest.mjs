// Prints one closing line for a vitest JSON report, and fails when a test
// was skipped: a skipped suite must never pass as a green run.
import { readFileSync } from "node:fs";

const report = JSON.parse(readFileSync(process.argv[2], "utf8"));
const passed = report.numPassedTests;
const failed = report.numFailedTests;
const skipped = report.numPendingTests + report.numTodoTests;
const suites = new Set();
for (const file of report.testResults) {
  for (const t of file.assertionResults) {
    const m = /\[(memory|redis) store\]/.exec(t.ancestorTitles.join(" "));
    if (m && t.status === "passed") suites.add(m[1]);
  }
}
console.log(`\nstores covered by passing conformance tests: ${[...suites].sort().join(", ") || "none"}`);
console.log(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (skipped > 0) {
  console.error("some tests were skipped; every suite must run");
  process.exit(1);
}
if (!suites.has("memory") || !suites.has("redis")) {
  console.error("the conformance suite must pass against both the memory and the redis store");
  process.exit(1);
}
process.exit(failed > 0 || passed === 0 ? 1 : 0);
