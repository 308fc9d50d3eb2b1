import { Field, ID, InputType } from 'type-graphql';
import { UserRole } from './user.entity';

@InputType({ description: 'A new user (admin only).' })
export class CreateUserInput {
  @Field({ description: 'Unique e-mail address.' })
  email!: string;

  @Field(() => UserRole, { defaultValue: UserRole.MEMBER, description: 'Role; MEMBER by default.' })
  role!: UserRole;
}

@InputType({ description: 'A new API key for the viewer (or, for admins, another user).' })
export class CreateApiKeyInput {
  @Field({ description: 'Human label for the key.' })
  name!: string;

  @Field(() => ID, { nullable: true, description: 'Admins only: create the key for this user.' })
  userId?: string;
}

@InputType({ description: 'Which key to revoke.' })
export class RevokeApiKeyInput {
  @Field(() => ID, { description: 'Id of the key.' })
  apiKeyId!: string;
}

@InputType({ description: 'Which user to delete (admin only).' })
export class DeleteUserInput {
  @Field(() => ID, { description: 'Id of the user.' })
  userId!: string;
}
