import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestParley, type TestParley } from '../support/parley';
import { spawnParley } from '../support/process';

/**
 * Graceful shutdown as deployed: NODE_ENV is not "test" there, which is what
 * switches Apollo's own SIGTERM handler on. It used to race Parley's, and every
 * such shutdown waited for the 15 s cut-off and exited 1.
 */
describe('shutdown', () => {
  let a: TestParley;

  beforeAll(async () => {
    a = await startTestParley({ env: { PARLEY_WORKER: 'off' } });
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
  });

  it('on SIGTERM, a production process with an open subscription drains and exits 0', async () => {
    const node = await spawnParley({ DATABASE_URL: a.databaseUrl, PARLEY_ADMIN_KEY: a.adminKey, NODE_ENV: 'production' });
    const client = createClient({ url: node.url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${a.adminKey}` }, retryAttempts: 0 });
    const closed = new Promise<void>((resolve) => {
      client.subscribe({ query: 'subscription { conversationEvents { __typename } }' }, { next: () => undefined, error: () => resolve(), complete: () => resolve() });
    });
    // Wait until the server has acknowledged the socket, so shutdown has a live subscription to close.
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    // A shutdown that hangs is cut off after 15 s with exit 1 (src/process.ts): 0 means it drained.
    const code = await node.stop();
    await closed;
    await client.dispose();
    expect(code).toBe(0);
  }, 60_000);
});
