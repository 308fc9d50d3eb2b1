import type { FakeScenario } from '../support/fake-openai';
import { maskSecrets } from '../../src/modules/providers/provider.types';
import { startHarness, type Harness } from './fake-run-harness';

const SECRET_KEY = 'sk-proj-abc...xyz';
const INTERNAL_URL = 'http://10.1.2.3:8080/internal/billing';
const LEAKY = `Incorrect API key provided: ${SECRET_KEY}. You can find your API key at ${INTERNAL_URL}.`;

/**
 * An upstream's error text (which can carry the operator's masked key and
 * internal URLs) never reaches users: RunFailed, run.error and the failed
 * step carry a Parley code and a message made of the status and error type.
 */
describe('upstream error text stays out of what users read', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.stop());
  beforeEach(() => h.fake.reset());

  const cases: [string, FakeScenario, string, string][] = [
    [
      '401 with a key in its body',
      { kind: 'status', status: 401, body: { error: { message: LEAKY, type: 'invalid_request_error', code: 'invalid_api_key', param: null } } },
      'UPSTREAM_ERROR',
      'The model provider answered 401 (invalid_request_error)',
    ],
    [
      '400 whose type is not an identifier',
      { kind: 'status', status: 400, body: { error: { message: LEAKY, type: `see ${INTERNAL_URL}`, code: null, param: null } } },
      'BAD_REQUEST',
      'The model provider answered 400',
    ],
    [
      'an error event mid-stream',
      { kind: 'error-after', afterChunks: 1, text: ['Hi'], error: { message: LEAKY, type: 'server_error' } },
      'UPSTREAM_ERROR',
      'The model provider reported an error (server_error)',
    ],
  ];

  it.each(cases)('%s', async (_name, scenario, code, message) => {
    h.fake.enqueue(scenario, scenario, scenario);
    const conversationId = await h.conversation();
    const { run } = await h.send(conversationId, 'Hello');
    const events = await h.watch(run.id).done;
    const failed = events.at(-1)!;
    expect(failed.__typename).toBe('RunFailed');
    expect(failed.error).toEqual({ code, message });
    const stored = await h.run(run.id);
    expect(stored.error).toEqual({ code, message });
    const everything = JSON.stringify([events, stored]);
    for (const leak of ['sk-proj', 'abc...xyz', '10.1.2.3', 'Incorrect API key']) expect(everything).not.toContain(leak);
  });

  it('masks keys, tokens and URL passwords in the text kept for the log', () => {
    const masked = maskSecrets(`${LEAKY} Authorization: Bearer eyJhbGciOi.abc.def api_key=hunter2 https://user:pw@host/x pk_abcdefghijk`);
    for (const secret of ['abc...xyz', 'eyJhbGciOi', 'hunter2', ':pw@', 'pk_abcdefghijk']) expect(masked).not.toContain(secret);
    expect(masked).toContain(INTERNAL_URL); // the operator may read where it came from
  });
});
