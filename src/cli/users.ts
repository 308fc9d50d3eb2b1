import Redis from 'ioredis';
import { validate as isUuid } from 'uuid';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Context, Viewer } from '../server/context';
import { UserService } from '../modules/users/user.service';
import { User, UserRole } from '../modules/users/user.entity';
import { ApiKey } from '../modules/users/api-key.entity';
import { generateApiKey, hashApiKey, looksLikeApiKey } from '../modules/users/api-key';
import { MemoryRevocations, RedisRevocations, type Revocations } from '../modules/users/revocations';
import { withDatabase } from './database';
import { CliError, type Output } from './output';

/**
 * The operator at the machine acts as an admin: the same UserService methods
 * the GraphQL mutations call, with a viewer that is no user of the database
 * (every call here names its user explicitly).
 */
const OPERATOR: Viewer = { id: '00000000-0000-0000-0000-000000000000', email: 'cli@parley.local', role: UserRole.ADMIN };

/**
 * What UserService reads of a request context: its entity manager, its
 * logger and id. The rest (loaders, deadline, services) belongs to GraphQL
 * requests and is never touched by these methods.
 */
function operatorContext(em: EntityManager, logger: Logger): Context {
  return { requestId: 'cli', em, logger } as Partial<Context> as Context;
}

/** Revocations reach the API nodes through Redis, as when an admin revokes over GraphQL. */
async function revocations(config: Config, logger: Logger): Promise<{ channel: Revocations; close(): Promise<void> }> {
  if (!config.redisUrl) return { channel: new MemoryRevocations(), close: async () => undefined };
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', (err: unknown) => logger.debug({ err }, 'redis connection error'));
  const channel = new RedisRevocations(redis, config.redisPrefix, (err) => logger.warn({ err }, 'revocation channel unavailable'));
  return { channel, close: async () => redis.disconnect() };
}

function service(channel: Revocations = new MemoryRevocations()): UserService {
  // Deleting users is not a CLI command: no run is ever removed here.
  return new UserService({ revocations: channel, runsRemoved: async () => [] });
}

async function findUser(em: EntityManager, ref: string): Promise<User> {
  const user = isUuid(ref) ? await em.findOne(User, { id: ref }) : await em.findOne(User, { email: ref.trim().toLowerCase() });
  if (!user) throw new CliError(`no user ${isUuid(ref) ? 'with id' : 'with e-mail'} ${ref}`);
  return user;
}

export async function createUser(config: Config, logger: Logger, out: Output, args: { email?: string; role?: string }): Promise<void> {
  if (!args.email) throw new CliError('create-user needs --email <address>', 2);
  const role = (args.role ?? 'member').toUpperCase();
  if (role !== UserRole.ADMIN && role !== UserRole.MEMBER) throw new CliError(`--role must be admin or member, not ${args.role}`, 2);
  await withDatabase(config, logger, async ({ orm }) => {
    const { user, apiKey } = await service().createUser(operatorContext(orm.em.fork(), logger), OPERATOR, { email: args.email!, role: role as UserRole });
    out.result({ user: { id: user.id, email: user.email, role: user.role }, apiKey }, [
      `created ${user.role === UserRole.ADMIN ? 'admin' : 'user'} ${user.email} (id ${user.id})`,
      `API key (shown once, store it now): ${apiKey}`,
    ]);
  });
}

export async function createKey(config: Config, logger: Logger, out: Output, args: { user?: string; name?: string }): Promise<void> {
  if (!args.user) throw new CliError('create-key needs --user <e-mail or user id>', 2);
  await withDatabase(config, logger, async ({ orm }) => {
    const em = orm.em.fork();
    const user = await findUser(em, args.user!);
    const { key, apiKey } = await service().createApiKey(operatorContext(em, logger), OPERATOR, { name: args.name ?? 'cli', userId: user.id });
    out.result({ apiKey: { id: key.id, name: key.name, prefix: key.prefix, user: user.email }, key: apiKey }, [
      `created API key ${key.id} ("${key.name}") for ${user.email}`,
      `API key (shown once, store it now): ${apiKey}`,
    ]);
  });
}

export async function revokeKey(config: Config, logger: Logger, out: Output, ref?: string): Promise<void> {
  if (!ref) throw new CliError('revoke-key needs the key id, or the key itself (pk_…)', 2);
  const channel = await revocations(config, logger);
  try {
    await withDatabase(config, logger, async ({ orm }) => {
      const em = orm.em.fork();
      let id = ref;
      if (looksLikeApiKey(ref)) {
        const byHash = await em.findOne(ApiKey, { hash: hashApiKey(ref) });
        if (!byHash) throw new CliError('no such API key');
        id = byHash.id;
      } else if (!isUuid(ref)) {
        throw new CliError(`${ref} is neither a key id nor an API key (pk_…)`, 2);
      }
      const existing = await em.findOne(ApiKey, { id }, { populate: ['user'] });
      if (!existing) throw new CliError(`no API key with id ${id}`);
      const wasRevoked = Boolean(existing.revokedAt);
      const key = await service(channel.channel).revokeApiKey(operatorContext(em, logger), OPERATOR, { apiKeyId: id });
      out.result({ apiKey: { id: key.id, name: key.name, prefix: key.prefix, user: existing.user.email, revokedAt: key.revokedAt } }, [
        `${wasRevoked ? 'already revoked' : 'revoked'}: API key ${key.id} ("${key.name}", ${key.prefix}…) of ${existing.user.email}`,
        config.redisUrl ? 'API nodes end the subscriptions opened with it' : 'it is refused from its next request on',
      ]);
    });
  } finally {
    await channel.close();
  }
}

export async function listKeys(config: Config, logger: Logger, out: Output, args: { user?: string }): Promise<void> {
  if (!args.user) throw new CliError('list-keys needs --user <e-mail or user id>', 2);
  await withDatabase(config, logger, async ({ orm }) => {
    const em = orm.em.fork();
    const user = await findUser(em, args.user!);
    const keys = await service().listApiKeys(operatorContext(em, logger), user.id);
    const rows = keys.map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt ?? null, revokedAt: k.revokedAt ?? null }));
    out.result(
      { user: user.email, apiKeys: rows },
      rows.length
        ? rows.map((k) => `${k.id}  ${k.prefix}…  ${k.name}${k.revokedAt ? '  (revoked)' : ''}`)
        : [`${user.email} has no API keys`],
    );
  });
}

/** A fresh key for PARLEY_ADMIN_KEY (or any other use); nothing is stored. */
export function generateKey(out: Output): void {
  const { secret } = generateApiKey();
  out.result({ key: secret }, [secret]);
}
