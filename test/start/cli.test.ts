import { startTestParley, TEST_REDIS_URL, type TestParley } from '../support/parley';
import { cli, closedPort } from './helpers';

/** `parley …` against the database and Redis of a running node, as an operator uses it. */
describe('parley CLI', () => {
  let p: TestParley;
  let env: Record<string, string>;

  beforeAll(async () => {
    p = await startTestParley({ redis: true });
    env = { DATABASE_URL: p.databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: p.redisPrefix };
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  const viewer = async (key: string) => {
    const res = await p.gql<{ viewer: { email: string } }>('{ viewer { email } }', undefined, key);
    return res.data?.viewer.email ?? res.errors?.[0]?.extensions?.code;
  };

  it('create-user, create-key, revoke-key: keys authenticate through GraphQL until revoked', async () => {
    const user = await cli(['create-user', '--email', 'Ops@Example.com', '--json'], env);
    expect(user.code).toBe(0);
    const created = JSON.parse(user.stdout) as { user: { id: string; email: string; role: string }; apiKey: string };
    expect(created.user).toMatchObject({ email: 'ops@example.com', role: 'MEMBER' });
    expect(await viewer(created.apiKey)).toBe('ops@example.com');

    const again = await cli(['create-user', '--email', 'ops@example.com'], env);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('A user with e-mail ops@example.com exists');

    const keyRun = await cli(['create-key', '--user', 'ops@example.com', '--name', 'ci', '--json'], env);
    expect(keyRun.code).toBe(0);
    const made = JSON.parse(keyRun.stdout) as { apiKey: { id: string; name: string }; key: string };
    expect(made.apiKey.name).toBe('ci');
    expect(await viewer(made.key)).toBe('ops@example.com');

    // A subscription opened with the key ends when the key is revoked (announced through Redis).
    const client = p.ws(made.key);
    const ended = new Promise<string>((resolve) => {
      client.subscribe({ query: 'subscription { conversationEvents { __typename } }' }, { next: () => undefined, error: () => resolve('error'), complete: () => resolve('complete') });
    });
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));

    const revoked = await cli(['revoke-key', made.apiKey.id], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked: API key ${made.apiKey.id} ("ci"`);
    expect(await viewer(made.key)).toBe('UNAUTHENTICATED');
    await expect(ended).resolves.toBeDefined();
    await client.dispose();

    // The key itself names what to revoke, too; the first key still worked until then.
    expect(await viewer(created.apiKey)).toBe('ops@example.com');
    expect((await cli(['revoke-key', created.apiKey], env)).code).toBe(0);
    expect(await viewer(created.apiKey)).toBe('UNAUTHENTICATED');

    const listed = await cli(['list-keys', '--user', created.user.id, '--json'], env);
    const keys = (JSON.parse(listed.stdout) as { apiKeys: { name: string; revokedAt: string | null }[] }).apiKeys;
    expect(keys.map((k) => [k.name, k.revokedAt !== null])).toEqual([
      ['default', true],
      ['ci', true],
    ]);
  }, 90_000);

  it('an admin made with --role admin can create users over GraphQL', async () => {
    const res = await cli(['create-user', '--email', 'root@example.com', '--role', 'admin', '--json'], env);
    const { apiKey } = JSON.parse(res.stdout) as { apiKey: string };
    const made = await p.gql<{ createUser: { user: { email: string } } }>('mutation { createUser(input: { email: "x@example.com" }) { user { email } } }', undefined, apiKey);
    expect(made.data?.createUser.user.email).toBe('x@example.com');
  }, 60_000);

  it('usage errors exit 2 and say what is missing', async () => {
    const res = await cli(['create-key'], env);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe('create-key needs --user <e-mail or user id>');
    expect((await cli(['revoke-key', 'nonsense'], env)).stderr.trim()).toBe('nonsense is neither a key id nor an API key (pk_…)');
  }, 60_000);

  it('doctor passes when PostgreSQL and Redis answer', async () => {
    const res = await cli(['doctor'], env);
    expect(res.stdout).toMatch(/^OK +postgres +.*answers \(PostgreSQL \d+/m);
    expect(res.stdout).toMatch(/^OK +redis +127\.0\.0\.1:6379 answers/m);
    expect(res.code).toBe(0);
  }, 60_000);

  it('doctor reports an unreachable Redis and a bad provider configuration, and exits 1', async () => {
    const port = await closedPort();
    const res = await cli(['doctor', '--json'], { ...env, REDIS_URL: `redis://:pw@127.0.0.1:${port}`, PARLEY_DEFAULT_MODEL: 'nowhere/model' });
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual(
      expect.arrayContaining([
        { name: 'postgres', status: 'ok', detail: expect.stringContaining('answers') },
        { name: 'redis', status: 'fail', detail: `cannot reach Redis at 127.0.0.1:${port} (REDIS_URL): connection refused (is it running?)` },
        { name: 'providers', status: 'fail', detail: expect.stringMatching(/^PARLEY_DEFAULT_MODEL: Unknown model "nowhere\/model"/) },
      ]),
    );
  }, 60_000);

  it('doctor reports an invalid configuration as a failed check', async () => {
    const res = await cli(['doctor'], { ...env, PARLEY_ADMIN_KEY: 'not-a-parley-key-at-all' });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^FAIL +config +Invalid configuration:/m);
    expect(res.stdout).toContain('PARLEY_ADMIN_KEY: must be pk_');
  }, 60_000);
});
