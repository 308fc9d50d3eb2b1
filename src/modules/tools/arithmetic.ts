/**
 * Safe arithmetic for the calculator tool: a recursive-descent parser that
 * evaluates as it parses. No eval/Function, so model-written input can only
 * ever compute a number.
 *
 * Grammar (lowest precedence first):
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/' | '%') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := primary (('^' | '**') unary)?      right-associative; -2^2 = -4, 2^-1 = 0.5
 *   primary := number | constant | name '(' expr (',' expr)* ')' | '(' expr ')'
 */

import { ArithmeticError, tokenize, type Token, type TokenKind } from './arithmetic-lexer';

export { ArithmeticError };

/** Limits keep a hostile expression from costing more than a few microseconds. */
export const MAX_EXPRESSION_LENGTH = 500;
export const MAX_NESTING_DEPTH = 50;

// Maps, not object literals: `'constructor' in {}` is true, and model input must never reach the prototype.
const CONSTANTS = new Map<string, number>([
  ['pi', Math.PI],
  ['e', Math.E],
]);

interface FunctionSpec {
  minArgs: number;
  maxArgs: number;
  fn: (...args: number[]) => number;
}

const FUNCTIONS = new Map<string, FunctionSpec>(Object.entries({
  sqrt: { minArgs: 1, maxArgs: 1, fn: Math.sqrt },
  abs: { minArgs: 1, maxArgs: 1, fn: Math.abs },
  round: { minArgs: 1, maxArgs: 2, fn: roundTo },
  floor: { minArgs: 1, maxArgs: 1, fn: Math.floor },
  ceil: { minArgs: 1, maxArgs: 1, fn: Math.ceil },
  min: { minArgs: 1, maxArgs: Infinity, fn: Math.min },
  max: { minArgs: 1, maxArgs: Infinity, fn: Math.max },
  ln: { minArgs: 1, maxArgs: 1, fn: Math.log },
  /** log(x) is base 10; log(x, b) is base b. */
  log: { minArgs: 1, maxArgs: 2, fn: (x, b) => (b === undefined ? Math.log10(x) : Math.log(x) / Math.log(b)) },
  exp: { minArgs: 1, maxArgs: 1, fn: Math.exp },
  sin: { minArgs: 1, maxArgs: 1, fn: Math.sin },
  cos: { minArgs: 1, maxArgs: 1, fn: Math.cos },
  tan: { minArgs: 1, maxArgs: 1, fn: Math.tan },
} satisfies Record<string, FunctionSpec>));

/** Names the calculator understands; the tool description lists them for the model. */
export const ARITHMETIC_FUNCTIONS = [...FUNCTIONS.keys()];
export const ARITHMETIC_CONSTANTS = [...CONSTANTS.keys()];

/** `round(x, digits)` rounds to decimal places; half away from zero, like people expect. */
function roundTo(x: number, digits = 0): number {
  if (!Number.isInteger(digits) || digits < 0 || digits > 15) return NaN;
  const factor = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * factor)) / factor;
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    const value = this.expr();
    const token = this.peek();
    if (token.kind !== 'end') throw this.unexpected(token);
    return value;
  }

  private expr(): number {
    let left = this.term();
    for (let op = this.peek(); op.kind === 'op' && (op.text === '+' || op.text === '-'); op = this.peek()) {
      this.index++;
      const right = this.term();
      left = finite(op.text === '+' ? left + right : left - right, op);
    }
    return left;
  }

  private term(): number {
    let left = this.unary();
    for (let op = this.peek(); op.kind === 'op' && '*/%'.includes(op.text); op = this.peek()) {
      this.index++;
      const right = this.unary();
      if (op.text !== '*' && right === 0) {
        throw new ArithmeticError(op.text === '/' ? 'Division by zero' : 'Modulo by zero', op.pos + 1);
      }
      left = finite(op.text === '*' ? left * right : op.text === '/' ? left / right : left % right, op);
    }
    return left;
  }

  /** Every nesting route (parentheses, sign chains, powers, calls) passes here, so depth is bounded in one place. */
  private unary(): number {
    const token = this.peek();
    if (++this.depth > MAX_NESTING_DEPTH) {
      throw new ArithmeticError(`Expression nested too deeply (max ${MAX_NESTING_DEPTH})`, token.pos + 1);
    }
    try {
      if (token.kind === 'op' && (token.text === '-' || token.text === '+')) {
        this.index++;
        const operand = this.unary();
        return token.text === '-' ? -operand : operand;
      }
      return this.power();
    } finally {
      this.depth--;
    }
  }

  private power(): number {
    const base = this.primary();
    const op = this.peek();
    if (op.kind !== 'op' || op.text !== '^') return base;
    this.index++;
    const exponent = this.unary();
    return finite(base ** exponent, op);
  }

  private primary(): number {
    const token = this.next();
    switch (token.kind) {
      case 'number':
        return token.value;
      case '(': {
        const value = this.expr();
        this.expect(')', token);
        return value;
      }
      case 'name':
        return this.peek().kind === '(' ? this.call(token) : this.constant(token);
      default:
        throw this.unexpected(token);
    }
  }

  private constant(token: Token): number {
    const key = token.text.toLowerCase();
    const value = CONSTANTS.get(key);
    if (value !== undefined) return value;
    if (FUNCTIONS.has(key)) {
      throw new ArithmeticError(`Function '${token.text}' needs arguments, e.g. ${key}(x)`, token.pos + 1);
    }
    throw new ArithmeticError(`Unknown name '${token.text}'`, token.pos + 1);
  }

  private call(token: Token): number {
    const key = token.text.toLowerCase();
    const spec = FUNCTIONS.get(key);
    if (!spec) {
      const what = CONSTANTS.has(key)
        ? `'${token.text}' is a constant, not a function`
        : `Unknown function '${token.text}'`;
      throw new ArithmeticError(what, token.pos + 1);
    }
    const open = this.next();
    const args: number[] = [];
    if (this.peek().kind !== ')') {
      args.push(this.expr());
      while (this.peek().kind === ',') {
        this.index++;
        args.push(this.expr());
      }
    }
    this.expect(')', open);
    if (args.length < spec.minArgs || args.length > spec.maxArgs) {
      throw new ArithmeticError(`${key}() takes ${arity(spec)} argument(s), got ${args.length}`, token.pos + 1);
    }
    const value = spec.fn(...args);
    if (!Number.isFinite(value)) {
      throw new ArithmeticError(`${key}(${args.join(', ')}) is undefined or not finite`, token.pos + 1);
    }
    return value;
  }

  private expect(kind: TokenKind, opener: Token): void {
    const token = this.next();
    if (token.kind !== kind) {
      if (token.kind === 'end') throw new ArithmeticError(`Missing '${kind}' for '(' opened`, opener.pos + 1);
      throw this.unexpected(token);
    }
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private unexpected(token: Token): ArithmeticError {
    if (token.kind === 'end') return new ArithmeticError('Unexpected end of expression', token.pos + 1);
    return new ArithmeticError(`Unexpected '${token.text}'`, token.pos + 1);
  }
}

function arity(spec: FunctionSpec): string {
  if (spec.minArgs === spec.maxArgs) return `${spec.minArgs}`;
  return spec.maxArgs === Infinity ? `at least ${spec.minArgs}` : `${spec.minArgs} or ${spec.maxArgs}`;
}

function finite(value: number, op: Token): number {
  if (!Number.isFinite(value)) {
    throw new ArithmeticError(`Result of '${op.text}' is not a finite number`, op.pos + 1);
  }
  return value;
}

/** Parses and evaluates `expression`; throws `ArithmeticError` with a column on any problem. */
export function evaluateArithmetic(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new ArithmeticError(`Expression too long (max ${MAX_EXPRESSION_LENGTH} characters)`, MAX_EXPRESSION_LENGTH + 1);
  }
  const tokens = tokenize(expression);
  if (tokens.length === 1) throw new ArithmeticError('Empty expression', 1);
  return new Parser(tokens).parse();
}
