import { AppError } from '../../src/server/errors';
import { MAX_REPORT_DAYS, checkReportRange, utcDays } from '../../src/modules/usage/report-range';

const d = (s: string) => new Date(s);
const fieldOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.details.field as string;
    throw err;
  }
  return undefined;
};

describe('checkReportRange', () => {
  it('accepts [from, to) up to 366 days', () => {
    const r = checkReportRange(d('2024-01-01T00:00:00Z'), d('2025-01-01T00:00:00Z'));
    expect(r.to.getTime() - r.from.getTime()).toBe(MAX_REPORT_DAYS * 86_400_000);
    expect(fieldOf(() => checkReportRange(d('2025-01-01T00:00:00Z'), d('2025-01-01T00:00:00.001Z')))).toBeUndefined();
  });

  it('rejects empty, inverted, too long and invalid ranges, naming the field', () => {
    expect(fieldOf(() => checkReportRange(d('2025-01-02T00:00:00Z'), d('2025-01-01T00:00:00Z')))).toBe('input.to');
    expect(fieldOf(() => checkReportRange(d('2025-01-01T00:00:00Z'), d('2025-01-01T00:00:00Z')))).toBe('input.to');
    expect(fieldOf(() => checkReportRange(d('2024-01-01T00:00:00Z'), d('2025-01-01T00:00:00.001Z')))).toBe('input.to');
    expect(fieldOf(() => checkReportRange(d('nope'), d('2025-01-01T00:00:00Z')))).toBe('input.from');
    expect(fieldOf(() => checkReportRange(d('2025-01-01T00:00:00Z'), d('nope'), 'filter'))).toBe('filter.to');
  });
});

describe('utcDays', () => {
  it('lists every UTC day the range touches, partial days included, the end exclusive', () => {
    expect(utcDays({ from: d('2025-02-27T18:00:00Z'), to: d('2025-03-02T00:00:00Z') })).toEqual(['2025-02-27', '2025-02-28', '2025-03-01']);
    expect(utcDays({ from: d('2025-03-01T00:00:00Z'), to: d('2025-03-01T00:00:00.001Z') })).toEqual(['2025-03-01']);
    expect(utcDays({ from: d('2024-02-28T00:00:00Z'), to: d('2024-03-01T12:00:00Z') })).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
  });
});
