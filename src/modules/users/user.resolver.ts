import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { ApiKeyType, UserType } from './user.types';
import { CreateApiKeyInput, CreateUserInput, DeleteUserInput, RevokeApiKeyInput } from './user.inputs';
import { CreateApiKeyPayload, CreateUserPayload, DeleteUserPayload, RevokeApiKeyPayload } from './user.payloads';
import { toApiKeyType, toUserType } from './user.mappers';
import { forbidden } from '../../server/errors';

@Resolver(() => UserType)
export class UserResolver {
  @Query(() => UserType, { description: 'The authenticated caller.' })
  async viewer(@Ctx() ctx: Context, @CurrentViewer() viewer: Viewer): Promise<UserType> {
    return toUserType(await ctx.services.users.me(ctx, viewer));
  }

  @FieldResolver(() => [ApiKeyType], { description: 'API keys of this user (only visible to the user and admins).' })
  async apiKeys(@Root() user: UserType, @Ctx() ctx: Context, @CurrentViewer() viewer: Viewer): Promise<ApiKeyType[]> {
    if (user.id !== viewer.id && viewer.role !== 'ADMIN') throw forbidden();
    return (await ctx.services.users.listApiKeys(ctx, user.id)).map(toApiKeyType);
  }

  @Mutation(() => CreateUserPayload, { description: 'Creates a user and its first API key (admin only).' })
  async createUser(
    @Arg('input', () => CreateUserInput, { description: 'The user to create.' }) input: CreateUserInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<CreateUserPayload> {
    const { user, apiKey } = await ctx.services.users.createUser(ctx, viewer, input);
    return { user: toUserType(user), apiKey };
  }

  @Mutation(() => CreateApiKeyPayload, { description: 'Creates an API key; the secret is returned once.' })
  async createApiKey(
    @Arg('input', () => CreateApiKeyInput, { description: 'The key to create.' }) input: CreateApiKeyInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<CreateApiKeyPayload> {
    const { key, apiKey } = await ctx.services.users.createApiKey(ctx, viewer, input);
    return { key: toApiKeyType(key), apiKey };
  }

  @Mutation(() => RevokeApiKeyPayload, { description: 'Revokes an API key; it stops authenticating at once, and its live subscriptions end with UNAUTHENTICATED.' })
  async revokeApiKey(
    @Arg('input', () => RevokeApiKeyInput, { description: 'The key to revoke.' }) input: RevokeApiKeyInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<RevokeApiKeyPayload> {
    return { key: toApiKeyType(await ctx.services.users.revokeApiKey(ctx, viewer, input)) };
  }

  @Mutation(() => DeleteUserPayload, {
    description:
      'Deletes a user with everything they own (admin only): their keys and tokens stop authenticating, their runs end and their live subscriptions end with UNAUTHENTICATED.',
  })
  async deleteUser(
    @Arg('input', () => DeleteUserInput, { description: 'The user to delete.' }) input: DeleteUserInput,
    @Ctx() ctx: Context,
    @CurrentViewer() viewer: Viewer,
  ): Promise<DeleteUserPayload> {
    return { deletedUserId: await ctx.services.users.deleteUser(ctx, viewer, input) };
  }
}
