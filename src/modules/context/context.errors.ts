import { AppError, ErrorCode } from '../../server/errors';

/** Why a prompt cannot be built at all, whatever the strategy drops. */
export enum ContextErrorCode {
  /** The system prompt (or the branch's root SYSTEM message) alone exceeds the input budget. */
  SYSTEM_PROMPT_TOO_LARGE = 'SYSTEM_PROMPT_TOO_LARGE',
  /** The newest turn, which every strategy must send, does not fit beside the system prompt. */
  LATEST_MESSAGE_TOO_LARGE = 'LATEST_MESSAGE_TOO_LARGE',
  /** Pinned messages (always kept) do not fit beside the system prompt and the newest turn. */
  PINNED_TOO_LARGE = 'PINNED_TOO_LARGE',
  /** Tool definitions and the reserved output leave no room for messages. */
  NO_ROOM = 'NO_ROOM',
}

/** The input field a client should change for each failure. */
const FIELD = {
  SYSTEM_PROMPT_TOO_LARGE: 'systemPrompt',
  LATEST_MESSAGE_TOO_LARGE: 'content',
  PINNED_TOO_LARGE: 'pinned',
  NO_ROOM: 'model',
} satisfies Record<ContextErrorCode, string>;

/**
 * The user asked for something that cannot fit the model's context window.
 * It is the user's input that is wrong, not the provider: BAD_USER_INPUT with
 * `extensions.field`, `reason`, `tokens` and `budgetTokens`.
 */
export class ContextBudgetError extends AppError {
  constructor(
    readonly reason: ContextErrorCode,
    message: string,
    readonly tokens: number,
    readonly budgetTokens: number,
  ) {
    super(ErrorCode.BAD_USER_INPUT, `${FIELD[reason]}: ${message}`, { field: FIELD[reason], reason, tokens, budgetTokens });
    this.name = 'ContextBudgetError';
  }
}
