import { invalidRequest } from '@payment-manager/shared/errors';
import { splitList } from '../domain/event-page.ts';

/** `?status=a,b` (repeatable): every value must be one of `allowed`; the 400 names the unknown ones and lists them. */
export function statusFilter(raw: string | string[] | undefined, allowed: readonly string[]): string[] {
  const statuses = splitList(raw);
  const unknown = statuses.filter((status) => !allowed.includes(status));
  if (unknown.length > 0) {
    throw invalidRequest([
      {
        in: 'query',
        field: 'status',
        message: `must be a comma-separated list of ${allowed.join(', ')}; got ${unknown.join(', ')}`,
        allowed: [...allowed],
      },
    ]);
  }
  return statuses;
}
