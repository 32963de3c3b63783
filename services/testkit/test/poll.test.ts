import { expect, it } from 'vitest';
import { eventually } from '../src/poll.ts';

it('eventually resolves with the first value that passes the probe', async () => {
  let calls = 0;
  const value = await eventually(
    async () => {
      calls += 1;
      expect(calls).toBeGreaterThanOrEqual(3);
      return calls;
    },
    { intervalMs: 5 },
  );
  expect(value).toBe(3);
});

it('eventually fails with the probe’s own assertion once the deadline passes', async () => {
  const never = eventually(() => expect('pending').toBe('done'), {
    timeoutMs: 100,
    intervalMs: 10,
    message: 'order state',
  });
  await expect(never).rejects.toThrow(/order state[\s\S]*expected 'pending' to be 'done'/);
});
