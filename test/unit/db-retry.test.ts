import { isTransientDbError, withDbRetry } from '../../src/db/retry';

describe('database write retries', () => {
  it('treats Postgres being away as transient, and a bad statement as final', () => {
    expect(isTransientDbError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isTransientDbError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDbError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: '08006' }) }))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isTransientDbError(new Error('syntax error at or near "selec"'))).toBe(false);
  });

  it('retries a transient failure until it succeeds, within the budget', async () => {
    const seen: number[] = [];
    const result = await withDbRetry({ budgetMs: 5_000, baseDelayMs: 1 }, async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
      return 'written';
    });
    expect(result).toBe('written');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('gives up at once on a final error, and after the budget on a transient one', async () => {
    let calls = 0;
    await expect(withDbRetry({ budgetMs: 5_000, baseDelayMs: 1 }, async () => {
      calls++;
      throw Object.assign(new Error('duplicate'), { code: '23505' });
    })).rejects.toThrow('duplicate');
    expect(calls).toBe(1);
    calls = 0;
    await expect(withDbRetry({ budgetMs: 1_000, baseDelayMs: 100, maxDelayMs: 100 }, async () => {
      calls++;
      throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
    })).rejects.toThrow('down');
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThanOrEqual(11);
  });
});
