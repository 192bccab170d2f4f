// Prints vitest's JSON reports (npm test, then the fault suite) as the plain closing line CI
// reads: "N passed, N failed, N skipped", summed over the reports; before it, the ten slowest
// test files, so that a file that grew slow is seen in every CI log.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const files = process.argv.length > 2 ? process.argv.slice(2) : ['.vitest-results.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
const durations = [];
for (const file of files) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.log(`no test report at ${file}: ${err.message}`);
    failed += 1;
    continue;
  }
  for (const result of report.testResults ?? []) {
    if (result.startTime !== undefined && result.endTime !== undefined) {
      durations.push({
        file: relative(process.cwd(), result.name),
        seconds: (result.endTime - result.startTime) / 1000,
      });
    }
  }
  passed += report.numPassedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A suite that failed to load counts as a failure even when it had no test to fail.
  failed += report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0);
}
if (durations.length > 0) {
  console.log('slowest test files:');
  for (const { file, seconds } of durations.sort((a, b) => b.seconds - a.seconds).slice(0, 10)) {
    console.log(`  ${seconds.toFixed(1).padStart(7)} s  ${file}`);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
