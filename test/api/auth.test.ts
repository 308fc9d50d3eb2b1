import { SignJWT } from 'jose';
import { startTestParley, type TestParley } from '../support/parley';

const JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';
const sign = (sub: string, exp: string | number) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(exp)
    .sign(new TextEncoder().encode(JWT_SECRET));

describe('authentication and users', () => {
  let p: TestParley;
  beforeAll(async () => {
    p = await startTestParley({ env: { JWT_SECRET } });
  });
  afterAll(() => p.stop());

  const viewer = '{ viewer { id email role } }';

  it('rejects anonymous, unknown, malformed and revoked credentials with UNAUTHENTICATED', async () => {
    const anon = await p.gql(viewer, {}, '');
    expect(anon.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const unknown = await p.gql(viewer, {}, 'pk_doesnotexist');
    expect(unknown.errors?.[0]).toMatchObject({ message: 'Unknown API key', extensions: { code: 'UNAUTHENTICATED' } });
    const garbage = await p.gql(viewer, {}, 'not-a-jwt');
    expect(garbage.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    const user = await p.newUser();
    const created = await p.gql<{ createApiKey: { key: { id: string; prefix: string }; apiKey: string } }>(
      'mutation { createApiKey(input: { name: "ci" }) { key { id prefix } apiKey } }',
      {},
      user.apiKey,
    );
    const { key, apiKey } = created.data!.createApiKey;
    expect(apiKey.startsWith(key.prefix)).toBe(true);
    expect((await p.gql(viewer, {}, apiKey)).data).toBeTruthy();
    const revoked = await p.gql<{ revokeApiKey: { key: { revokedAt: string } } }>(
      'mutation($id: ID!) { revokeApiKey(input: { apiKeyId: $id }) { key { revokedAt } } }',
      { id: key.id },
      user.apiKey,
    );
    expect(revoked.data?.revokeApiKey.key.revokedAt).toBeTruthy();
    const after = await p.gql(viewer, {}, apiKey);
    expect(after.errors?.[0]).toMatchObject({ message: 'This API key was revoked', extensions: { code: 'UNAUTHENTICATED' } });
    // The user's other key still works.
    expect((await p.gql(viewer, {}, user.apiKey)).data).toBeTruthy();
  });

  it('accepts a valid JWT and rejects an expired one', async () => {
    const user = await p.newUser('jwt@example.com');
    const ok = await p.gql<{ viewer: { email: string } }>(viewer, {}, await sign(user.id, '5m'));
    expect(ok.data?.viewer.email).toBe('jwt@example.com');
    const expired = await p.gql(viewer, {}, await sign(user.id, Math.floor(Date.now() / 1000) - 60));
    expect(expired.errors?.[0]).toMatchObject({ message: 'Token expired', extensions: { code: 'UNAUTHENTICATED' } });
    const stranger = await p.gql(viewer, {}, await sign('018f0000-0000-7000-8000-000000000000', '5m'));
    expect(stranger.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets only admins create users, and refuses duplicates and bad e-mails', async () => {
    const member = await p.newUser();
    const denied = await p.gql('mutation { createUser(input: { email: "x@example.com" }) { apiKey } }', {}, member.apiKey);
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    await p.newUser('dup@example.com');
    const dup = await p.gql('mutation { createUser(input: { email: "DUP@example.com" }) { apiKey } }');
    expect(dup.errors?.[0].extensions?.code).toBe('CONFLICT');
    const bad = await p.gql('mutation { createUser(input: { email: "nope" }) { apiKey } }');
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    const badEnum = await p.gql('mutation { createUser(input: { email: "e@example.com", role: OWNER }) { apiKey } }');
    expect(badEnum.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('never leaks internals for malformed requests', async () => {
    const res = await fetch(p.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ viewer { id }' });
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(body)).not.toMatch(/stack|node_modules|select /i);
  });
});
