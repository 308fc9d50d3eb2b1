import { ARITHMETIC_CONSTANTS, ARITHMETIC_FUNCTIONS, MAX_EXPRESSION_LENGTH, evaluateArithmetic } from './arithmetic';
import type { ToolDefinition } from './tool.types';

/** Arguments the calculator accepts; enforced by the registry's schema check. */
export interface CalculatorArgs {
  expression: string;
}

/**
 * Exact arithmetic for models, which are unreliable at it. Pure and
 * deterministic, so results are cached for an hour.
 */
export const calculatorTool: ToolDefinition<CalculatorArgs> = {
  name: 'calculator',
  description:
    'Evaluate an arithmetic expression exactly. Operators: + - * / % ^ (power, right-associative), ' +
    `parentheses, decimals, scientific notation (1.5e3). Functions: ${ARITHMETIC_FUNCTIONS.join(', ')} ` +
    `(trigonometry in radians; log(x) is base 10, log(x, b) base b; round(x, digits)). ` +
    `Constants: ${ARITHMETIC_CONSTANTS.join(', ')}.`,
  parameters: {
    type: 'object',
    properties: {
      expression: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_EXPRESSION_LENGTH,
        description: 'The expression, e.g. "(2 + 3) * sqrt(16) / 4"',
      },
    },
    required: ['expression'],
    additionalProperties: false,
  },
  cacheTtlSeconds: 3600,
  async execute({ expression }) {
    const value = evaluateArithmetic(expression);
    // 15 significant digits hide float noise (0.1 + 0.2) that would confuse the model.
    return { expression, result: Number(value.toPrecision(15)) };
  },
};
