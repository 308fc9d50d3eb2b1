import { Field, ID, ObjectType } from 'type-graphql';
import { ApiKeyType, UserType } from './user.types';

@ObjectType({ description: 'Result of createUser.' })
export class CreateUserPayload {
  @Field(() => UserType, { description: 'The new user.' })
  user!: UserType;

  @Field({ description: 'The user\'s first API key. Shown once: store it now.' })
  apiKey!: string;
}

@ObjectType({ description: 'Result of createApiKey.' })
export class CreateApiKeyPayload {
  @Field(() => ApiKeyType, { description: 'The stored key (prefix only).' })
  key!: ApiKeyType;

  @Field({ description: 'The secret key. Shown once: store it now.' })
  apiKey!: string;
}

@ObjectType({ description: 'Result of revokeApiKey.' })
export class RevokeApiKeyPayload {
  @Field(() => ApiKeyType, { description: 'The revoked key.' })
  key!: ApiKeyType;
}

@ObjectType({ description: 'Result of deleteUser.' })
export class DeleteUserPayload {
  @Field(() => ID, { description: 'Id of the deleted user.' })
  deletedUserId!: string;
}
