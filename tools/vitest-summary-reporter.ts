/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, after vitest's own
 * summary, so CI can read the result without knowing vitest's output format.
 */
import type { Reporter, RunnerTask, RunnerTestFile } from "vitest";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function count(tasks: readonly RunnerTask[], into: Counts): void {
  for (const task of tasks) {
    if (task.type === "suite") {
      count(task.tasks, into);
      continue;
    }
    const state = task.result?.state;
    if (state === "pass") into.passed++;
    else if (state === "fail") into.failed++;
    else into.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    for (const file of files) {
      // A file that failed to load has no tests but must count as a failure.
      if (file.result?.state === "fail" && file.tasks.length === 0) counts.failed++;
      count(file.tasks, counts);
    }
    counts.failed += errors.length;
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
