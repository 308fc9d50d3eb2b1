import { Writable } from 'node:stream';
import pino from 'pino';
import { SignJWT } from 'jose';
import type { Client } from 'graphql-ws';
import { startTestParley, type TestParley } from '../support/parley';

const JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';
const VIEWER = '{ viewer { id } }';
const EVENTS = 'subscription($c: ID!) { conversationEvents(conversationId: $c) { type } }';

/**
 * A subscription kept open on one node. `live(cause)` repeats `cause` until
 * an event arrives (proof the subscription is set up, with no guessed delay);
 * `ended` resolves with how the server ended it.
 */
function open(client: Client, conversationId: string) {
  const events: string[] = [];
  let settle: (how: unknown) => void = () => undefined;
  const ended = new Promise<unknown>((resolve) => (settle = resolve));
  client.subscribe<{ conversationEvents: { type: string } }>(
    { query: EVENTS, variables: { c: conversationId } },
    { next: (v) => events.push(v.data?.conversationEvents.type ?? 'errors'), error: (err) => settle(err), complete: () => settle('complete') },
  );
  return {
    ended,
    async live(cause: () => Promise<unknown>) {
      for (let i = 0; i < 400 && events.length === 0; i++) {
        await cause();
        await new Promise((r) => setTimeout(r, 25));
      }
      if (!events.length) throw new Error('the subscription never delivered');
    },
  };
}

describe('auth ends what it ended: revocation across nodes', () => {
  let a: TestParley;
  let b: TestParley;
  beforeAll(async () => {
    a = await startTestParley({ redis: true });
    b = await startTestParley({ redis: true, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const conversation = async (key: string) =>
    (await a.gql<{ createConversation: { conversation: { id: string } } }>('mutation { createConversation(input: { title: "t" }) { conversation { id } } }', {}, key)).data!
      .createConversation.conversation.id;
  const rename = (key: string, id: string) =>
    a.gql('mutation($i: UpdateConversationInput!) { updateConversation(input: $i) { __typename } }', { i: { conversationId: id, title: `t${Math.random()}` } }, key);

  it('revoking a key on node A ends its subscription on node B with UNAUTHENTICATED; other keys stream on', async () => {
    const user = await a.newUser();
    const second = await a.gql<{ createApiKey: { key: { id: string }; apiKey: string } }>('mutation { createApiKey(input: { name: "ws" }) { key { id } apiKey } }', {}, user.apiKey);
    const { key, apiKey } = second.data!.createApiKey;
    const id = await conversation(user.apiKey);
    const doomed = open(b.ws(apiKey), id);
    const kept = open(b.ws(user.apiKey), id);
    await doomed.live(() => rename(user.apiKey, id));
    await kept.live(() => rename(user.apiKey, id));

    const revoked = await a.gql('mutation($id: ID!) { revokeApiKey(input: { apiKeyId: $id }) { key { revokedAt } } }', { id: key.id }, user.apiKey);
    expect(revoked.errors).toBeUndefined();
    expect(await doomed.ended).toEqual([expect.objectContaining({ message: 'This API key was revoked', extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    expect((await b.gql(VIEWER, {}, apiKey)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    // The user's other key was not revoked: its subscription still delivers.
    const more = open(b.ws(user.apiKey), id);
    await more.live(() => rename(user.apiKey, id));
  });

  it('deleteUser (admin) on node A ends the user\'s subscriptions on node B and their keys stop working', async () => {
    const user = await a.newUser();
    const id = await conversation(user.apiKey);
    const sub = open(b.ws(user.apiKey), id);
    await sub.live(() => rename(user.apiKey, id));
    const deleted = await a.gql<{ deleteUser: { deletedUserId: string } }>('mutation($id: ID!) { deleteUser(input: { userId: $id }) { deletedUserId } }', { id: user.id });
    expect(deleted.data?.deleteUser.deletedUserId).toBe(user.id);
    expect(await sub.ended).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    expect((await b.gql(VIEWER, {}, user.apiKey)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('deleteUser is for admins only, and not for oneself', async () => {
    const user = await a.newUser();
    const other = await a.newUser();
    const m = 'mutation($id: ID!) { deleteUser(input: { userId: $id }) { deletedUserId } }';
    expect((await a.gql(m, { id: other.id }, user.apiKey)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const admin = (await a.gql<{ viewer: { id: string } }>(VIEWER)).data!.viewer.id;
    expect((await a.gql(m, { id: admin })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await a.gql(m, { id: '00000000-0000-7000-8000-000000000000' })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('JWT claims', () => {
  let p: TestParley;
  let userId: string;
  beforeAll(async () => {
    p = await startTestParley({ env: { JWT_SECRET, JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'parley' } });
    userId = (await p.newUser()).id;
  });
  afterAll(() => p?.stop());

  const sign = (claims: { exp?: string; iss?: string; aud?: string }) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt();
    if (claims.exp) jwt.setExpirationTime(claims.exp);
    if (claims.iss) jwt.setIssuer(claims.iss);
    if (claims.aud) jwt.setAudience(claims.aud);
    return jwt.sign(new TextEncoder().encode(JWT_SECRET));
  };

  it('accepts a token with exp, the configured iss and aud', async () => {
    const res = await p.gql<{ viewer: { id: string } }>(VIEWER, {}, await sign({ exp: '5m', iss: 'https://issuer.example', aud: 'parley' }));
    expect(res.data?.viewer.id).toBe(userId);
  });

  it.each([
    ['no exp', { iss: 'https://issuer.example', aud: 'parley' }, /no expiry/],
    ['another issuer', { exp: '5m', iss: 'https://evil.example', aud: 'parley' }, /issuer/],
    ['no issuer', { exp: '5m', aud: 'parley' }, /iss/],
    ['another audience', { exp: '5m', iss: 'https://issuer.example', aud: 'other' }, /audience/],
  ])('refuses a token with %s', async (_name, claims, message) => {
    const res = await p.gql(VIEWER, {}, await sign(claims));
    expect(res.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    expect(res.errors?.[0].message).toMatch(message);
  });
});

describe('failed authentications are limited per address and logged', () => {
  let p: TestParley;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    p = await startTestParley({ env: { PARLEY_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' }, logger: pino({ level: 'info' }, sink) });
  });
  afterAll(() => p?.stop());

  it('answers RATE_LIMITED after the limit, even for a good key, and logs each failure without the token', async () => {
    const good = (await p.newUser()).apiKey;
    for (let i = 0; i < 3; i++) expect((await p.gql(VIEWER, {}, `pk_wrong_guess_${i}`)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const refused = await p.gql(VIEWER, {}, 'pk_wrong_guess_3');
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'authFailuresPerMinute', scope: 'ip' });
    expect((await p.gql(VIEWER, {}, good)).errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    // Over graphql-ws the address is refused at connect, like a bad key.
    await expect(new Promise((resolve, reject) => p.ws(good).subscribe({ query: VIEWER }, { next: resolve, error: reject, complete: () => resolve('complete') }))).rejects.toMatchObject({ code: 4403 });

    const failures = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('authentication failed'));
    expect(failures.length).toBeGreaterThanOrEqual(4);
    expect(failures.at(-1)).toMatchObject({ level: 40, ip: expect.any(String) });
    expect(JSON.stringify(lines)).not.toContain('pk_wrong_guess');
  });
});
