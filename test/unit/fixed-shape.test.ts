import 'reflect-metadata';
import { execute, parse, type GraphQLSchema } from 'graphql';
import { createSchema } from '../../src/server/schema';
import { compileFixedShape, NOT_FIXED } from '../../src/server/fixed-shape';
import { RUN_EVENTS } from '../runs/run-helpers';

const runId = '0196a1f0-0000-7000-8000-000000000001';
const at = '2026-12-04T10:00:00.000Z';
const usage = { promptTokens: 3, completionTokens: 5, reasoningTokens: 0, cachedTokens: 1, costUsd: 0.25 };
const EVENTS = [
  { type: 'RunStatusChanged', status: 'IN_PROGRESS', previousStatus: 'QUEUED' },
  { type: 'StepStarted', stepIndex: 0, stepType: 'MODEL_CALL', model: 'up/m' },
  { type: 'TokenDelta', stepIndex: 0, text: 'héllo "quoted"\n' },
  { type: 'ReasoningDelta', stepIndex: 0, text: 'hmm' },
  { type: 'ToolCallStarted', stepIndex: 0, toolCallId: 'c1', name: 'search', index: 0 },
  { type: 'ToolCallArgumentsDelta', stepIndex: 0, toolCallId: 'c1', delta: '{"q"' },
  { type: 'ToolCallCompleted', stepIndex: 0, toolCallId: 'c1', name: 'search', arguments: '{"q":1}' },
  { type: 'StepCompleted', stepIndex: 0, usage },
  { type: 'StepCompleted', stepIndex: 1 },
  { type: 'MessageCompleted', messageId: runId, role: 'assistant' },
  { type: 'RequiresAction', toolCalls: [{ id: 'c2', name: 'ask', arguments: '{}' }] },
  { type: 'RunCompleted', status: 'COMPLETED', usage },
  { type: 'RunFailed', error: { code: 'UPSTREAM', message: 'no' } },
  { type: 'RunCancelled' },
].map((body, i) => ({ ...body, seq: i + 1, runId, at, epoch: 'e1' }));

const SHAPES = {
  full: RUN_EVENTS,
  aliases: `subscription S($runId: ID!) { x: runEvents(runId: $runId) { t: __typename ...f ... on TokenDelta { a: text b: text } ... on RunCompleted { usage { totalTokens } } } }
    fragment f on RunEvent { seq at }`,
  typenameOnly: 'subscription($runId: ID!) { runEvents(runId: $runId, after: 3) { __typename } }',
};

describe('fixed-shape run event results', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await createSchema();
  });

  it.each(Object.entries(SHAPES))('equal what graphql-js executes (%s)', async (_name, query) => {
    const document = parse(query, { noLocation: true });
    const variableValues = { runId };
    const plan = compileFixedShape(schema, document, undefined, variableValues);
    expect(plan).toBeDefined();
    for (const event of EVENTS) {
      const expected = JSON.parse(JSON.stringify(await execute({ schema, document, variableValues, rootValue: event, contextValue: {} })));
      let fixed: unknown;
      try {
        fixed = await plan!(event, {});
      } catch (err) {
        // A type whose selection has a resolver of its own (RunFailed.error) is left to graphql-js.
        expect(err).toBe(NOT_FIXED);
        expect(event.type).toBe('RunFailed');
        continue;
      }
      expect(JSON.parse(JSON.stringify(fixed))).toEqual(expected);
    }
  });

  it('leaves to graphql-js what it must word: directives, invalid values, a null in a non-null field', async () => {
    const withDirective = parse('subscription($runId: ID!) { runEvents(runId: $runId) { seq @include(if: true) } }');
    expect(compileFixedShape(schema, withDirective, undefined, { runId })).toBeUndefined();
    const plan = compileFixedShape(schema, parse('subscription($runId: ID!) { runEvents(runId: $runId) { seq ... on TokenDelta { text } } }'), undefined, { runId })!;
    await expect(plan({ type: 'TokenDelta', seq: 1, runId, at, stepIndex: 0 }, {})).rejects.toBe(NOT_FIXED);
    await expect(plan({ type: 'TokenDelta', seq: 'one', runId, at, stepIndex: 0, text: 'x' }, {})).rejects.toBe(NOT_FIXED);
    await expect(plan({ type: 'NoSuchEvent', seq: 1, runId, at }, {})).rejects.toBe(NOT_FIXED);
  });
});
