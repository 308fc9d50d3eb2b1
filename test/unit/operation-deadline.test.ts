import { buildSchema, execute, parse, type GraphQLFormattedError, type GraphQLObjectType } from 'graphql';
import { ErrorCode, formatError } from '../../src/server/errors';
import { collapseStopErrors, operationTimeout, stopOnAbort, withDeadline } from '../../src/server/operation-deadline';
import type { Context } from '../../src/server/context';
import { createLogger } from '../../src/logger';

/** A list of items, each able to abort its own operation when resolved (as a deadline would, mid-execution). */
function setup() {
  const schema = buildSchema('type Query { items: [Item] } type Item { n: Int next: Item }');
  const fields = schema.getQueryType()!.getFields();
  fields.items.resolve = () => Array.from({ length: 50 }, (_, n) => ({ n }));
  const item = schema.getType('Item') as GraphQLObjectType;
  let resolvedNext = 0;
  item.getFields().next.resolve = async (parent: { n: number }, _args, ctx: Context) => {
    resolvedNext++;
    if (parent.n === 0) ctx.deadline.abort(operationTimeout(300));
    return { n: parent.n + 100 };
  };
  item.getFields().n.resolve = (parent: { n: number }) => parent.n;
  stopOnAbort(schema);
  return { schema, resolvedNext: () => resolvedNext };
}

const logger = createLogger('silent');
const format = formatError(logger);
const run = withDeadline(undefined, execute);

describe('stopping an operation', () => {
  it('refuses every resolver that starts after the signal, and the client hears it once', async () => {
    const { schema, resolvedNext } = setup();
    const ctx = { logger } as Context;
    const result = await run({ schema, document: parse('{ items { n next { n next { n } } } }'), contextValue: ctx });
    // The first item's `next` stopped the operation: none of the 49 after it, and nothing deeper, started.
    expect(resolvedNext()).toBe(1);
    expect(result.errors!.length).toBeGreaterThan(1);
    const formatted = collapseStopErrors(result.errors!.map((e) => format(e, e)));
    expect(formatted).toEqual([{ message: 'The operation ran longer than 300 ms and was stopped', extensions: { code: ErrorCode.OPERATION_TIMEOUT, timeoutMs: 300 } }]);
  });

  it('gives each execution of a context its own deadline, as each event of a subscription', async () => {
    const { schema } = setup();
    const ctx = { logger } as Context;
    await run({ schema, document: parse('{ items { next { n } } }'), contextValue: ctx });
    expect(ctx.deadline.signal.aborted).toBe(true);
    const next = await run({ schema, document: parse('{ items { n } }'), contextValue: ctx });
    expect(next.errors).toBeUndefined();
    expect(ctx.deadline.signal.aborted).toBe(false);
  });

  it('keeps errors that are not about stopping', () => {
    const other: GraphQLFormattedError = { message: 'Message x not found', path: ['a'], extensions: { code: 'NOT_FOUND' } };
    expect(collapseStopErrors([other])).toEqual([other]);
  });
});
