import { badInput } from '../../server/errors';

/** Longest range a report may cover: a leap year, so "this year" always fits. */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

/** A checked half-open range [from, to). */
export interface ReportRange {
  from: Date;
  to: Date;
}

/**
 * Reports cover [from, to): `to` must be after `from` and at most 366 days
 * later, so a DAY series has at most 367 buckets and no report scans years.
 */
export function checkReportRange(from: Date, to: Date, field = 'input'): ReportRange {
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) throw badInput(`${field}.from`, 'is not a valid date-time');
  if (!(to instanceof Date) || Number.isNaN(to.getTime())) throw badInput(`${field}.to`, 'is not a valid date-time');
  if (to.getTime() <= from.getTime()) throw badInput(`${field}.to`, 'must be after from');
  if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * DAY_MS) {
    throw badInput(`${field}.to`, `must be at most ${MAX_REPORT_DAYS} days after from`, { maxDays: MAX_REPORT_DAYS });
  }
  return { from, to };
}

/** UTC calendar days that [from, to) touches, as YYYY-MM-DD: the keys of a DAY report. */
export function utcDays({ from, to }: ReportRange): string[] {
  const days: string[] = [];
  const first = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let t = first; t < to.getTime(); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}
