import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';
import { User } from './user.entity';

/** Only a SHA-256 of the key is stored; the prefix lets a user tell keys apart. */
@Entity({ tableName: 'api_keys' })
export class ApiKey extends BaseEntity<'lastUsedAt' | 'revokedAt'> {
  @ManyToOne(() => User, { deleteRule: 'cascade' })
  @Index()
  user!: User;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'string', length: 24 })
  prefix!: string;

  @Property({ type: 'string', length: 64, hidden: true })
  @Unique()
  hash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastUsedAt?: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt?: Date;
}
