import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { UserRole } from './user.entity';

registerEnumType(UserRole, { name: 'UserRole', description: 'What a user may do: admins see and manage everything.' });

@ObjectType('User', { description: 'A person or service that owns conversations and agents.' })
export class UserType {
  @Field(() => ID, { description: 'Stable id (UUIDv7).' })
  id!: string;

  @Field({ description: 'Unique e-mail address.' })
  email!: string;

  @Field(() => UserRole, { description: 'Role of the user.' })
  role!: UserRole;

  @Field({ description: 'When the user was created.' })
  createdAt!: Date;
}

@ObjectType('ApiKey', { description: 'An API key; only its prefix is ever shown again after creation.' })
export class ApiKeyType {
  @Field(() => ID, { description: 'Id of the key.' })
  id!: string;

  @Field({ description: 'Human label.' })
  name!: string;

  @Field({ description: 'First characters of the key, to tell keys apart.' })
  prefix!: string;

  @Field({ description: 'When the key was created.' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Last time the key authenticated a request (minute precision).' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key was revoked; revoked keys never authenticate.' })
  revokedAt!: Date | null;
}
