import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Lists what was skipped after the run, grouped by reason (the `ctx.skip(note)` note or, for suites skipped by
 * `describeWith`, the `[skipped: …]` part of the suite name): each reason once, with the files and how many tests
 * of each it skipped, so a green CI log still says what did not run and why without repeating a long reason per test.
 * Ends with one plain `tests: N passed, N failed, N skipped` line that any CI log reader understands; with
 * PM_TEST_SUMMARY_FILE set, the line is also written there, so `.ci/run` can repeat it as its very last line (the
 * fuzzer's output after it ends in pytest-like banners a log reader would otherwise take for the closing line).
 */
export default class SkippedTestsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const count = (state: 'passed' | 'failed' | 'skipped') =>
      testModules.reduce((sum, testModule) => sum + [...testModule.children.allTests(state)].length, 0);
    /** reason → file → skipped tests in it */
    const byReason = new Map<string, Map<string, number>>();
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests('skipped')) {
        const result = test.result();
        const note = result.state === 'skipped' ? result.note : undefined;
        // Without a note or a describeWith reason, the outermost suite's title (e.g. "… (no kube-apiserver: …)").
        const reason =
          note || /\[skipped: (.*?)\]/.exec(test.fullName)?.[1] || test.fullName.split(' > ')[0] || test.name;
        const files = byReason.get(reason) ?? new Map<string, number>();
        files.set(testModule.relativeModuleId, (files.get(testModule.relativeModuleId) ?? 0) + 1);
        byReason.set(reason, files);
      }
    }
    const skipped = count('skipped');
    if (skipped > 0) {
      const lines = [`\nSkipped tests (${skipped}), by reason:`];
      for (const [reason, files] of byReason) {
        const total = [...files.values()].reduce((sum, n) => sum + n, 0);
        lines.push(`  ↓ ${total} test${total === 1 ? '' : 's'}: ${reason}`);
        for (const [file, n] of files) lines.push(`      ${file} (${n})`);
      }
      console.log(`${lines.join('\n')}\n`);
    }
    const summary = `tests: ${count('passed')} passed, ${count('failed')} failed, ${skipped} skipped`;
    console.log(summary);
    const summaryFile = process.env.PM_TEST_SUMMARY_FILE;
    if (summaryFile) writeFileSync(summaryFile, `${summary}\n`);
  }
}
