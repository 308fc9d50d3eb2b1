import { TextDecoder } from 'node:util';
import { APIError } from 'openai';
import { Stream } from 'openai/core/streaming';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { SseChunkParser } from '../../src/modules/providers/sse-chunks';

/**
 * The parser must read a body exactly as the openai SDK's Stream does (the
 * oracle here), however the network cuts it into reads: every body below is
 * fed whole to the SDK and, to the parser, cut at every byte position and
 * byte by byte.
 */

interface Outcome {
  chunks: unknown[];
  error?: string;
}

const describeError = (err: unknown): string =>
  err instanceof APIError ? `APIError ${err.status ?? '-'} ${err.message}` : err instanceof Error ? err.name : String(err);

async function viaSdk(body: Uint8Array): Promise<Outcome> {
  const chunks: unknown[] = [];
  try {
    for await (const chunk of Stream.fromSSEResponse<unknown>(new Response(body), new AbortController())) chunks.push(chunk);
  } catch (err) {
    return { chunks, error: describeError(err) };
  }
  return { chunks };
}

function viaParser(body: Uint8Array, cuts: number[]): Outcome {
  const parser = new SseChunkParser();
  const decoder = new TextDecoder();
  const chunks: ChatCompletionChunk[] = [];
  let from = 0;
  try {
    for (const to of [...cuts, body.length]) {
      parser.push(decoder.decode(body.subarray(from, to), { stream: true }), chunks);
      from = to;
    }
    parser.end(chunks);
  } catch (err) {
    return { chunks, error: describeError(err) };
  }
  return { chunks };
}

const chunk = (content: string) => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] });

const BODIES: Record<string, string> = {
  'plain events and [DONE]': `data: ${chunk('Hel')}\n\ndata: ${chunk('lo')}\n\ndata: [DONE]\n\n`,
  'CRLF line endings': `data: ${chunk('a')}\r\n\r\ndata: ${chunk('b')}\r\n\r\ndata: [DONE]\r\n\r\n`,
  'bare CR line endings': `data: ${chunk('a')}\r\rdata: ${chunk('b')}\r\r`,
  'comments, ids, retry and unknown fields': `: keep-alive\n\nid: 1\nretry: 10\nfoo\ndata: ${chunk('x')}\n\n: ping\n\n`,
  'no space after the colon, and a data line split over two fields': `data:${chunk('x')}\n\ndata: {"id":"c","choices":\ndata: []}\n\n`,
  'multi-byte text': `data: ${chunk('héllo 🌍 — ünïcode')}\n\ndata: ${chunk('日本語')}\n\n`,
  'anything after [DONE] is ignored': `data: ${chunk('a')}\n\ndata: [DONE]\n\ndata: {not json\n\n`,
  'an event the body never ends is dropped': `data: ${chunk('a')}\n\ndata: ${chunk('b')}\n`,
  'a chunk that is not JSON, after a good one': `data: ${chunk('a')}\n\ndata: {not json\n\ndata: ${chunk('b')}\n\n`,
  'an error event mid-stream': `data: ${chunk('a')}\n\ndata: {"error":{"message":"overloaded","type":"server_error","code":null}}\n\n`,
  'a named error event': `data: ${chunk('a')}\n\nevent: error\ndata: {"error":{"message":"boom","type":"x"}}\n\n`,
  'an event with a name and no data': `event: ping\n\ndata: ${chunk('a')}\n\n`,
};

describe('SseChunkParser reads a body as the openai SDK does', () => {
  it.each(Object.entries(BODIES))('%s', async (_name, text) => {
    const body = new TextEncoder().encode(text);
    const expected = await viaSdk(body);
    expect(viaParser(body, [])).toEqual(expected);
    for (let cut = 1; cut < body.length; cut++) expect(viaParser(body, [cut])).toEqual(expected);
    expect(viaParser(body, Array.from({ length: body.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it('hands on the chunks before a failure, then throws it', () => {
    const parser = new SseChunkParser();
    const chunks: ChatCompletionChunk[] = [];
    expect(() => parser.push(`data: ${chunk('a')}\n\ndata: {oops\n\n`, chunks)).toThrow(SyntaxError);
    expect(chunks).toHaveLength(1);
  });
});
