/** Lexer for the calculator's arithmetic (see arithmetic.ts). */

/** A parse or evaluation error; `column` (1-based) points at the offending character. */
export class ArithmeticError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
    this.name = 'ArithmeticError';
  }
}

/** Token kinds; punctuation is its own kind so the parser can switch on it. */
export type TokenKind = 'number' | 'name' | 'op' | '(' | ')' | ',' | 'end';

/** A lexeme with its 0-based offset, kept for error columns. */
export interface Token {
  kind: TokenKind;
  text: string;
  value: number;
  /** 0-based offset into the input. */
  pos: number;
}

const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Splits input into tokens ending with an `end` token; `**` is normalised to `^`. */
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(input);
    if (num) {
      const text = num[0];
      const next = input[i + text.length] ?? '';
      if (next === '.' || /[eE]/.test(next)) throw new ArithmeticError('Malformed number', i + 1);
      const value = Number(text);
      if (!Number.isFinite(value)) throw new ArithmeticError(`Number ${text} is too large`, i + 1);
      tokens.push({ kind: 'number', text, value, pos: i });
      i += text.length;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(input);
    if (name) {
      tokens.push({ kind: 'name', text: name[0], value: 0, pos: i });
      i += name[0].length;
      continue;
    }
    if (input.startsWith('**', i)) {
      tokens.push({ kind: 'op', text: '^', value: 0, pos: i });
      i += 2;
      continue;
    }
    if ('+-*/%^'.includes(ch)) tokens.push({ kind: 'op', text: ch, value: 0, pos: i });
    else if (ch === '(' || ch === ')' || ch === ',') tokens.push({ kind: ch, text: ch, value: 0, pos: i });
    else throw new ArithmeticError(`Unexpected character '${ch}'`, i + 1);
    i++;
  }
  tokens.push({ kind: 'end', text: 'end of input', value: 0, pos: input.length });
  return tokens;
}
