import { Ctx, Field, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';

@ObjectType('Tool', { description: 'A server-side tool that agents and runs may use.' })
export class ToolObject {
  @Field({ description: 'Name to list in an agent\'s tools.' })
  name!: string;

  @Field({ description: 'What the tool does.' })
  description!: string;

  @Field(() => GraphQLJSONObject, { description: 'JSON Schema of the arguments.' })
  parameters!: Record<string, unknown>;

  @Field(() => Int, { nullable: true, description: 'Seconds results are cached by arguments; null when not cacheable.' })
  cacheTtlSeconds!: number | null;
}

@Resolver(() => ToolObject)
export class ToolResolver {
  @Query(() => [ToolObject], { description: 'Server-side tools available to runs.' })
  tools(@Ctx() ctx: Context, @CurrentViewer() _viewer: Viewer): ToolObject[] {
    return ctx.services.tools.list().map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.parameters as Record<string, unknown>,
      cacheTtlSeconds: t.cacheTtlSeconds ?? null,
    }));
  }
}
