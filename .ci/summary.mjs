// Prints vitest's JSON reports (npm test, then the fault suite) as the plain closing line CI
// reads: "N passed, N failed, N skipped", summed over the reports.
import { readFileSync } from 'node:fs';

const files = process.argv.length > 2 ? process.argv.slice(2) : ['.vitest-results.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of files) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.log(`no test report at ${file}: ${err.message}`);
    failed += 1;
    continue;
  }
  passed += report.numPassedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A suite that failed to load counts as a failure even when it had no test to fail.
  failed += report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
