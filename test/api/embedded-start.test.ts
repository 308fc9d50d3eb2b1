import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnParley } from '../support/process';

/** The README's quick start: no DATABASE_URL, no REDIS_URL, no admin key. */
describe('zero-config start on embedded PostgreSQL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-embedded-'));
  chmodSync(dataDir, 0o755); // the embedded server may run as a dedicated user when we are root
  const env = { DATABASE_URL: '', REDIS_URL: '', PARLEY_ADMIN_KEY: '', PARLEY_DATA_DIR: dataDir };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const waitFor = async <T>(read: () => T | undefined, timeoutMs = 5000): Promise<T | undefined> => {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      const value = read();
      if (value !== undefined) return value;
    }
    return undefined;
  };

  const gql = async (url: string, key: string, query: string) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
    return (await res.json()) as { data?: Record<string, { conversation?: { id: string }; edges?: unknown[]; email?: string }> };
  };

  it('creates the database and an admin on first start, prints the key once, and reuses the data', async () => {
    const first = await spawnParley(env);
    // The key is printed right after the "listening" log line that spawnParley waits for.
    const key = await waitFor(() => first.logs.join('\n').match(/pk_[A-Za-z0-9_-]{20,}/)?.[0]);
    expect(key).toBeDefined();
    expect((await gql(first.url, key!, '{ viewer { email } }')).data?.viewer.email).toBe('admin@parley.local');
    await gql(first.url, key!, 'mutation { createConversation(input: { title: "kept" }) { conversation { id } } }');
    expect(await first.stop()).toBe(0);

    const second = await spawnParley(env);
    await new Promise((r) => setTimeout(r, 500)); // where the first start printed its key
    expect(second.logs.join('\n')).not.toMatch(/pk_[A-Za-z0-9_-]{20,}/);
    const list = await gql(second.url, key!, '{ conversations { edges { node { title } } } }');
    expect(list.data?.conversations.edges).toEqual([{ node: { title: 'kept' } }]);
    expect(await second.stop()).toBe(0);
  }, 120_000);
});
