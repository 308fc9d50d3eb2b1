import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

const post = (body: Record<string, unknown>) =>
  fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('fake OpenAI server', () => {
  it('speaks the SSE wire format, with a usage chunk and [DONE]', async () => {
    fake.enqueue({ kind: 'stream', text: ['Hi'] });
    const res = await post({ model: 'm', messages: [], stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const raw = await res.text();
    const events = raw.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { role: 'assistant' } }] });
    expect(chunks[1]).toMatchObject({ choices: [{ delta: { content: 'Hi' }, finish_reason: null }] });
    expect(chunks[2]).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    expect(chunks[3]).toMatchObject({ choices: [], usage: { completion_tokens: 1 } });
  });

  it('omits the usage chunk unless asked, and answers "ok" when nothing is queued', async () => {
    const raw = await (await post({ model: 'm', messages: [], stream: true })).text();
    expect(raw).toContain('"content":"ok"');
    expect(raw).not.toContain('"usage"');
  });

  it('answers non-streaming requests with a chat.completion', async () => {
    fake.enqueue({ kind: 'stream', text: ['a', 'b'] });
    const body = (await (await post({ model: 'm', messages: [] })).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'ab' }, finish_reason: 'stop' }] });
  });

  it('paces chunks against absolute targets and records when each was sent', async () => {
    fake.enqueue({ kind: 'stream', text: Array.from({ length: 10 }, (_, i) => `t${i}`), delayMs: 15 });
    await (await post({ model: 'm', messages: [], stream: true })).text();
    const { sentAt } = fake.requests[0];
    // role + 10 text + finish, paced; [DONE] follows the finish chunk at once, as real servers do.
    expect(sentAt).toHaveLength(13);
    const span = sentAt[11] - sentAt[0];
    expect(span).toBeGreaterThanOrEqual(11 * 15 - 1);
    expect(span).toBeLessThan(11 * 15 + 30);
    expect(sentAt[12] - sentAt[11]).toBeLessThan(5);
  });
});
