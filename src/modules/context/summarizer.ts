import { ConfigError } from '../../config';
import type { ProviderRegistry } from '../providers/provider-registry';
import { formatTranscript, type TranscriptMessage } from './transcript';

export interface SummarizeRequest {
  /** An earlier summary to extend with `messages`. */
  previous?: string | null;
  messages: readonly TranscriptMessage[];
  /** Upper bound for the summary's length in tokens (the caller still truncates to be sure). */
  maxTokens: number;
  /** What the turns are, for the instructions: the start of this conversation, or another branch of it. */
  source?: 'earlier' | 'branch';
  signal?: AbortSignal;
}

/** Writes summaries; `model` names it, and stored summaries are only reused by the same model. */
export interface ContextSummarizer {
  readonly model: string;
  /** `key` dedupes concurrent identical requests in this process. */
  summarize(req: SummarizeRequest, key?: string): Promise<string>;
}

const INTRO = {
  earlier: 'the earlier part of a conversation',
  branch: 'turns from another branch of a conversation, which are being merged into this branch',
} as const;

/**
 * Summaries by a (cheaper) model from the provider registry, PARLEY_SUMMARY_MODEL,
 * through the provider's ordinary stream: only the answer text is kept.
 */
export class ProviderSummarizer implements ContextSummarizer {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly providers: ProviderRegistry,
    readonly model: string,
  ) {
    try {
      providers.resolve(model);
    } catch (err) {
      throw new ConfigError(`PARLEY_SUMMARY_MODEL: ${(err as Error).message}`);
    }
  }

  summarize(req: SummarizeRequest, key?: string): Promise<string> {
    if (!key) return this.call(req);
    const running = this.inflight.get(key);
    if (running) return running;
    const call = this.call(req).finally(() => this.inflight.delete(key));
    this.inflight.set(key, call);
    return call;
  }

  private async call(req: SummarizeRequest): Promise<string> {
    const { provider, upstreamModel } = this.providers.resolve(this.model);
    const words = Math.max(20, Math.floor(req.maxTokens * 0.7));
    const transcript = formatTranscript(req.messages);
    const stream = provider.stream({
      model: upstreamModel,
      maxTokens: req.maxTokens,
      signal: req.signal,
      messages: [
        {
          role: 'system',
          content:
            `You condense ${INTRO[req.source ?? 'earlier']} for another AI model that will continue it without seeing those turns. ` +
            'Write a compact, factual summary in plain prose: what the user wants, facts, numbers, names, decisions, ' +
            `tool results that matter and open questions. Add nothing that was not said. Stay under ${words} words.`,
        },
        {
          role: 'user',
          content: req.previous
            ? `Summary so far:\n${req.previous}\n\nLater turns to fold into it:\n\n${transcript}`
            : `Turns to summarize:\n\n${transcript}`,
        },
      ],
    });
    let text = '';
    for await (const ev of stream) if (ev.type === 'text') text += ev.text;
    text = text.trim();
    if (!text) throw new Error(`the summary model ${this.model} returned no text`);
    return text;
  }
}
