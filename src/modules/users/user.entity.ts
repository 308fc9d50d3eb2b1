import { Entity, Enum, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';

export enum UserRole {
  ADMIN = 'ADMIN',
  MEMBER = 'MEMBER',
}

@Entity({ tableName: 'users' })
export class User extends BaseEntity {
  @Property({ type: 'string', length: 320 })
  @Unique()
  email!: string;

  @Enum({ items: () => UserRole, nativeEnumName: 'user_role' })
  role: UserRole = UserRole.MEMBER;
}
