import type { FakeErrorBody, FakeToolCall, StreamShape } from './fake-openai';

/**
 * Byte-level shapes of OpenAI's chat completions responses, kept apart from
 * the server so the scheduling logic there stays readable.
 */

export type Chunk = Record<string, unknown>;

/** OpenAI wraps every error in `{ error: { message, type, param, code } }`. */
export function errorBody(e: FakeErrorBody): Chunk {
  return { error: { type: 'server_error', param: null, code: null, ...e } };
}

/** The `data:` payloads of one streamed answer, in order (without [DONE], which the server adds). */
export function buildChunks(
  id: string,
  model: string,
  s: StreamShape,
  includeUsage: boolean,
  body: Record<string, unknown>,
): Chunk[] {
  const created = Math.floor(Date.now() / 1000);
  const envelope = (choices: unknown[], extra: Chunk = {}): Chunk => ({
    id, object: 'chat.completion.chunk', created, model, choices, ...(includeUsage ? { usage: null } : {}), ...extra,
  });
  const delta = (d: Chunk, finish: string | null = null) =>
    envelope([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  const out: Chunk[] = [delta({ role: 'assistant', content: '', refusal: null })];
  for (const r of s.reasoning ?? []) out.push(delta({ [s.reasoningField ?? 'reasoning_content']: r }));
  for (const t of s.text ?? []) out.push(delta({ content: t }));
  const calls = s.toolCalls ?? [];
  const header = (c: FakeToolCall, index: number) =>
    delta({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] });
  const fragment = (index: number, args: string) => delta({ tool_calls: [{ index, function: { arguments: args } }] });
  if (s.interleaveToolCalls) {
    const rounds = Math.max(0, ...calls.map((c) => c.argumentsChunks.length)) + 1;
    for (let k = 0; k < rounds; k++) {
      calls.forEach((c, i) => {
        if (k === 0) out.push(header(c, i));
        else if (k - 1 < c.argumentsChunks.length) out.push(fragment(i, c.argumentsChunks[k - 1]));
      });
    }
  } else {
    calls.forEach((c, i) => {
      out.push(header(c, i));
      for (const a of c.argumentsChunks) out.push(fragment(i, a));
    });
  }
  const finish = s.finishReason === undefined ? (calls.length ? 'tool_calls' : 'stop') : s.finishReason;
  if (finish !== null) out.push(delta({}, finish));
  if (includeUsage) out.push(envelope([], { usage: wireUsage(s, body) }));
  return out;
}

function wireUsage(s: StreamShape, body: Record<string, unknown>): Chunk {
  const argPieces = (s.toolCalls ?? []).reduce((n, c) => n + c.argumentsChunks.length, 0);
  const pieces = (s.reasoning?.length ?? 0) + (s.text?.length ?? 0) + argPieces;
  const prompt = s.usage?.promptTokens ?? Math.ceil(JSON.stringify(body.messages ?? []).length / 4);
  const completion = s.usage?.completionTokens ?? pieces;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: s.usage?.cachedTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: s.usage?.reasoningTokens ?? s.reasoning?.length ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** Non-streaming answer built from the same script, for callers that do not ask for a stream. */
export function completion(id: string, model: string, s: StreamShape): Chunk {
  const calls = s.toolCalls ?? [];
  const message: Chunk = { role: 'assistant', content: s.text?.join('') ?? null, refusal: null };
  if (s.reasoning?.length) message[s.reasoningField ?? 'reasoning_content'] = s.reasoning.join('');
  if (calls.length) {
    message.tool_calls = calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.argumentsChunks.join('') },
    }));
  }
  const finish = s.finishReason ?? (calls.length ? 'tool_calls' : 'stop');
  return {
    id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: wireUsage(s, {}),
  };
}
