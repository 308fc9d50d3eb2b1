import { ArithmeticError, MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, evaluateArithmetic as calc } from '../../src/modules/tools/arithmetic';

/** Asserts the error message and its 1-based column. */
function expectError(expression: string, message: RegExp, column: number): void {
  let caught: unknown;
  try {
    calc(expression);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ArithmeticError);
  const error = caught as ArithmeticError;
  expect(error.message).toMatch(message);
  expect(error.column).toBe(column);
  expect(error.message).toContain(`at column ${column}`);
}

describe('evaluateArithmetic', () => {
  it('evaluates numbers in every notation', () => {
    expect(calc('42')).toBe(42);
    expect(calc('3.25')).toBe(3.25);
    expect(calc('.5')).toBe(0.5);
    expect(calc('5.')).toBe(5);
    expect(calc('1.5e3')).toBe(1500);
    expect(calc('2E-2')).toBe(0.02);
    expect(calc('1e+2')).toBe(100);
    expect(calc('  7  ')).toBe(7);
  });

  it('respects precedence', () => {
    expect(calc('2 + 3 * 4')).toBe(14);
    expect(calc('(2 + 3) * 4')).toBe(20);
    expect(calc('10 - 4 / 2')).toBe(8);
    expect(calc('2 * 3 ^ 2')).toBe(18);
    expect(calc('1 + 7 % 4')).toBe(4);
    expect(calc('2 + 3 * 4 ^ 2 / 8 - 1')).toBe(7);
  });

  it('is left-associative for + - * / %', () => {
    expect(calc('10 - 3 - 2')).toBe(5);
    expect(calc('100 / 10 / 5')).toBe(2);
    expect(calc('2 * 3 % 4')).toBe(2);
    expect(calc('17 % 5 % 3')).toBe(2);
  });

  it('is right-associative for ^ and accepts ** as an alias', () => {
    expect(calc('2 ^ 3 ^ 2')).toBe(512);
    expect(calc('2 ** 3 ** 2')).toBe(512);
    expect(calc('(2 ^ 3) ^ 2')).toBe(64);
  });

  it('binds unary minus looser than ^ and allows it in exponents', () => {
    expect(calc('-2 ^ 2')).toBe(-4);
    expect(calc('(-2) ^ 2')).toBe(4);
    expect(calc('2 ^ -1')).toBe(0.5);
    expect(calc('--3')).toBe(3);
    expect(calc('2 - -3')).toBe(5);
    expect(calc('+4')).toBe(4);
    expect(calc('-(1 + 2) * 3')).toBe(-9);
  });

  it('knows functions and constants, case-insensitively', () => {
    expect(calc('sqrt(16)')).toBe(4);
    expect(calc('abs(-3.5)')).toBe(3.5);
    expect(calc('round(2.5)')).toBe(3);
    expect(calc('round(-2.5)')).toBe(-3);
    expect(calc('round(3.14159, 2)')).toBe(3.14);
    expect(calc('floor(-1.5)')).toBe(-2);
    expect(calc('ceil(1.2)')).toBe(2);
    expect(calc('min(3, 1, 2)')).toBe(1);
    expect(calc('max(3, 1 + 9, 2)')).toBe(10);
    expect(calc('ln(e)')).toBe(1);
    expect(calc('log(1000)')).toBeCloseTo(3, 12);
    expect(calc('log(8, 2)')).toBeCloseTo(3, 12);
    expect(calc('exp(0)')).toBe(1);
    expect(calc('sin(0) + cos(0)')).toBe(1);
    expect(calc('tan(pi / 4)')).toBeCloseTo(1, 12);
    expect(calc('PI')).toBe(Math.PI);
    expect(calc('Sqrt(sqrt(81))')).toBe(3);
    expect(calc('2 * pi * 3')).toBeCloseTo(6 * Math.PI, 12);
  });

  it('reports division and modulo by zero at the operator', () => {
    expectError('1 / 0', /Division by zero/, 3);
    expectError('1 / (2 - 2)', /Division by zero/, 3);
    expectError('5 % 0', /Modulo by zero/, 3);
  });

  it('rejects non-finite results', () => {
    expectError('10 ^ 400', /'\^' is not a finite number/, 4);
    expectError('sqrt(-1)', /sqrt\(-1\) is undefined or not finite/, 1);
    expectError('ln(0)', /ln\(0\) is undefined/, 1);
    expectError('1e999', /too large/, 1);
    expectError('0 ^ -1', /not a finite number/, 3);
  });

  it('reports syntax errors with their column', () => {
    expectError('', /Empty expression/, 1);
    expectError('   ', /Empty expression/, 1);
    expectError('1 +', /Unexpected end of expression/, 4);
    expectError('1 + * 2', /Unexpected '\*'/, 5);
    expectError('(1 + 2', /Missing '\)'/, 1);
    expectError('1 + 2)', /Unexpected '\)'/, 6);
    expectError('2 3', /Unexpected '3'/, 3);
    expectError('2 $ 3', /Unexpected character '\$'/, 3);
    expectError('1.2.3', /Malformed number/, 1);
    expectError('1e', /Malformed number/, 1);
    expectError('foo + 1', /Unknown name 'foo'/, 1);
    expectError('1 + bar(2)', /Unknown function 'bar'/, 5);
    expectError('pi(2)', /constant, not a function/, 1);
    expectError('sqrt + 1', /needs arguments/, 1);
    expectError('sqrt(1, 2)', /sqrt\(\) takes 1 argument\(s\), got 2/, 1);
    expectError('max()', /max\(\) takes at least 1 argument\(s\), got 0/, 1);
    expectError('min(1,)', /Unexpected '\)'/, 7);
    expectError('round(1, 2, 3)', /takes 1 or 2/, 1);
  });

  it('refuses code, not just arithmetic', () => {
    expectError('constructor', /Unknown name 'constructor'/, 1);
    expectError('__proto__', /Unknown name/, 1);
    expectError('toString(1)', /Unknown function 'toString'/, 1);
    expectError('hasOwnProperty', /Unknown name/, 1);
    expectError('process.exit(1)', /Unexpected character '\.'/, 8);
    expectError('alert("x")', /Unexpected character '"'/, 7);
    expectError('alert(1)', /Unknown function 'alert'/, 1);
  });

  it('limits length and nesting', () => {
    expect(calc('1+'.repeat(249) + '1')).toBe(250);
    expectError('1'.repeat(MAX_EXPRESSION_LENGTH + 1), /too long/, MAX_EXPRESSION_LENGTH + 1);
    const ok = '('.repeat(MAX_NESTING_DEPTH - 1) + '1' + ')'.repeat(MAX_NESTING_DEPTH - 1);
    expect(calc(ok)).toBe(1);
    const deep = '('.repeat(MAX_NESTING_DEPTH) + '1' + ')'.repeat(MAX_NESTING_DEPTH);
    expectError(deep, /nested too deeply/, MAX_NESTING_DEPTH + 1);
    expectError('-'.repeat(MAX_NESTING_DEPTH) + '1', /nested too deeply/, MAX_NESTING_DEPTH + 1);
    expectError('2^'.repeat(MAX_NESTING_DEPTH) + '1', /nested too deeply/, 2 * MAX_NESTING_DEPTH + 1);
  });
});
