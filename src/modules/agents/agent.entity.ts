import { Entity, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity';
import { User } from '../users/user.entity';

@Entity({ tableName: 'agents' })
@Index({ properties: ['owner', 'createdAt'] })
export class Agent extends BaseEntity<'description' | 'instructions' | 'temperature' | 'tools' | 'version' | 'runTimeoutMs'> {
  @ManyToOne(() => User, { deleteRule: 'cascade' })
  owner!: User;

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description?: string;

  @Property({ type: 'text', nullable: true })
  instructions?: string;

  @Property({ type: 'string', length: 200 })
  model!: string;

  @Property({ type: 'double', nullable: true })
  temperature?: number;

  @Property({ type: 'array', columnType: 'text[]' })
  tools: string[] = [];

  /** Execution deadline of this agent's runs; null: the server default (PARLEY_RUN_TIMEOUT_MS). */
  @Property({ type: 'integer', nullable: true })
  runTimeoutMs?: number;

  /** Bumped on every update so runs can record which definition they used. */
  @Property({ type: 'integer' })
  version = 1;
}
