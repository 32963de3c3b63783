/** Child processes of a benchmark, killed however the benchmark ends (normal exit, error, Ctrl-C or a timeout). */
import type { ChildProcess } from 'node:child_process';

export function childrenKilledOnExit(): ChildProcess[] {
  const children: ChildProcess[] = [];
  // 'exit' handlers run synchronously, so kill() is all that can happen there; signals are turned into an exit.
  process.once('exit', () => {
    for (const child of children) child.kill();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  return children;
}
