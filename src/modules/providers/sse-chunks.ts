import { APIError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';

/**
 * The `data:` events of a chat completion stream (server-sent events), read
 * the way the openai SDK's `Stream` reads them — same line endings, fields,
 * `[DONE]`, errors — but a whole network read at a time, with no async step
 * per event: an upstream sending faster than one event per read costs one
 * pass over the text, not a copy of the buffer and three async generators
 * per event.
 *
 * What the SDK does and this keeps: lines end with \n, \r\n or \r; a line
 * starting with `:` is a comment; `field: value` drops one space after the
 * colon; several `data` lines join with \n; a blank line ends an event, and
 * an event never ended by one (the body stopped) is dropped; data starting
 * with `[DONE]` ends the stream (anything after it is ignored); any other
 * data must be JSON (a SyntaxError otherwise), and a JSON object with an
 * `error` is the upstream failing mid-stream (an `APIError` without status).
 */
export class SseChunkParser {
  private rest = '';
  private event: string | null = null;
  private data: string[] = [];
  private done = false;

  /** `headers` of the response, carried by the APIError of an error event as the SDK does. */
  constructor(private readonly headers?: Headers) {}

  /**
   * Appends the chunks `text` completes to `out`, in order. Throws at the
   * first event that is not a chunk (SyntaxError, APIError), after appending
   * the ones before it, so that the caller can hand those on first.
   */
  push(text: string, out: ChatCompletionChunk[]): void {
    let buffer = this.rest + text;
    if (buffer.includes('\r')) {
      // A \r at the very end may be the first half of a \r\n split across reads: it waits for the next one.
      const last = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
      buffer = buffer.slice(0, last).replace(/\r\n?/g, '\n') + buffer.slice(last);
    }
    let start = 0;
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n', start)) {
      const from = start;
      start = end + 1;
      if (end === from) {
        this.dispatch(out);
        continue;
      }
      // The usual line, without slicing it twice.
      if (buffer.startsWith('data: ', from)) {
        this.data.push(buffer.slice(from + 6, end));
        continue;
      }
      const line = buffer.slice(from, end);
      if (line.charCodeAt(0) === 58 /* : */) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
    }
    this.rest = start === 0 ? buffer : buffer.slice(start);
  }

  /** The body ended: a \r held back as half of a \r\n was a line end after all. */
  end(out: ChatCompletionChunk[]): void {
    if (!this.rest.endsWith('\r')) return;
    const rest = this.rest;
    this.rest = '';
    this.push(`${rest.slice(0, -1)}\n`, out);
  }

  private dispatch(out: ChatCompletionChunk[]): void {
    if (this.event === null && this.data.length === 0) return;
    const data = this.data.length === 1 ? this.data[0] : this.data.join('\n');
    this.event = null;
    this.data.length = 0;
    if (this.done) return;
    if (data.startsWith('[DONE]')) {
      this.done = true;
      return;
    }
    const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
    if (chunk && chunk.error) throw new APIError(undefined, chunk.error as object, undefined, this.headers);
    out.push(chunk);
  }
}
