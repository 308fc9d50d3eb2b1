import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('uses defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.dataDir).toBe('.data');
  });

  it('names the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: must be at least 32/);
  });
});

describe('empty variables', () => {
  it('count as unset', () => {
    const c = loadConfig({ DATABASE_URL: '', PARLEY_ADMIN_KEY: '', PORT: '' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminKey).toBeUndefined();
    expect(c.port).toBe(4000);
  });
});
