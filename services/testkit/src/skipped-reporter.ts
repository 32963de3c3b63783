import type { Reporter, TestModule } from 'vitest/node';

/**
 * Lists every skipped test with its reason after the run (the reason is the `ctx.skip(note)` note or, for suites
 * skipped by `describeWith`, part of the suite name), so a green CI log still says what did not run and why.
 * Ends with one plain `tests: N passed, N failed, N skipped` line that any CI log reader understands.
 */
export default class SkippedTestsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    const count = (state: 'passed' | 'failed' | 'skipped') =>
      testModules.reduce((sum, testModule) => sum + [...testModule.children.allTests(state)].length, 0);
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests('skipped')) {
        const result = test.result();
        const note = result.state === 'skipped' && result.note ? ` [${result.note}]` : '';
        lines.push(`  ↓ ${testModule.relativeModuleId} > ${test.fullName}${note}`);
      }
    }
    if (lines.length > 0) console.log(`\nSkipped tests (${lines.length}):\n${lines.join('\n')}\n`);
    console.log(`tests: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
  }
}
