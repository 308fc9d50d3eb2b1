import { Arg, Ctx, ID, Int, Mutation, Resolver, Root, Subscription, UseMiddleware } from 'type-graphql';
import { RateLimit } from '../../server/rate-limit';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer, requireViewer } from '../../server/viewer.decorator';
import { badInput } from '../../server/errors';
import type { RunEvent } from '../../events/run-event.types';
import { toMessageType } from '../messages/message.mappers';
import { RunObject } from './run.types';
import { toRunObject } from './run.mappers';
import { CancelRunInput, SendMessageInput, StartRunInput, SubmitToolOutputsInput } from './run.inputs';
import { CancelRunPayload, SendMessagePayload, StartRunPayload, SubmitToolOutputsPayload } from './run.payloads';
import { RunEventInterface, toRunEventObject } from './run-event.types';

@Resolver(() => RunObject)
export class RunCommandsResolver {
  @Mutation(() => SendMessagePayload, { description: 'Appends a user message and starts the run that answers it.' })
  @UseMiddleware(RateLimit('runs'))
  async sendMessage(
    @Arg('input', () => SendMessageInput, { description: 'The message and run options.' }) input: SendMessageInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<SendMessagePayload> {
    const { message, run } = await ctx.services.runCommands.sendMessage(ctx, viewer, input);
    return { message: toMessageType(message), run: toRunObject(run) };
  }

  @Mutation(() => StartRunPayload, { description: 'Starts a run answering an existing message.' })
  @UseMiddleware(RateLimit('runs'))
  async startRun(
    @Arg('input', () => StartRunInput, { description: 'What to answer and how.' }) input: StartRunInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<StartRunPayload> {
    return { run: toRunObject(await ctx.services.runCommands.startRun(ctx, viewer, input)) };
  }

  @Mutation(() => CancelRunPayload, { description: 'Cancels a run; the partial answer is kept as an INCOMPLETE message.' })
  async cancelRun(
    @Arg('input', () => CancelRunInput, { description: 'The run.' }) input: CancelRunInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<CancelRunPayload> {
    return { run: toRunObject(await ctx.services.runCommands.cancelRun(ctx, viewer, input.runId)) };
  }

  @Mutation(() => SubmitToolOutputsPayload, { description: 'Answers the pending client-side tool calls of a run and resumes it.' })
  async submitToolOutputs(
    @Arg('input', () => SubmitToolOutputsInput, { description: 'The outputs.' }) input: SubmitToolOutputsInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<SubmitToolOutputsPayload> {
    return { run: toRunObject(await ctx.services.runCommands.submitToolOutputs(ctx, viewer, input)) };
  }

  @Subscription(() => RunEventInterface, {
    description:
      'Every event of a run in order, from `after` (exclusive; 0 for all). Replays what was missed, then streams live; completes after the terminal event. A run that ended longer ago than the event retention fails with EVENTS_EXPIRED (read `run(id)` instead); a stream that cannot prove it continues (its log was lost, e.g. Redis restarted) fails with EVENTS_LOST and `extensions.lastSafeSeq`, the last event that can be trusted: read `run(id)` and its message for the rest.',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const viewer = requireViewer(ctx);
      const after = (args.after as number | null | undefined) ?? 0;
      if (!Number.isInteger(after) || after < 0) throw badInput('after', 'must be a non-negative integer');
      // Authorized before the iterator exists: another user's run is NOT_FOUND.
      return ctx.services.runs.events(ctx, viewer, args.runId as string, after);
    },
  })
  runEvents(
    @Root() event: RunEvent,
    @Arg('runId', () => ID, { description: 'The run.' }) _runId: string,
    @Arg('after', () => Int, { nullable: true, description: 'Last seq already seen; events after it are sent.' }) _after?: number,
  ): RunEventInterface {
    return toRunEventObject(event) as unknown as RunEventInterface;
  }
}
