import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { badInput, conflict, forbidden, notFound } from '../../server/errors';
import { optionalId, requireId, requireText, LIMITS } from '../../server/validate';
import { ApiKey } from './api-key.entity';
import { User, UserRole } from './user.entity';
import { generateApiKey, hashApiKey } from './api-key';
import type { CreateApiKeyInput, CreateUserInput, DeleteUserInput, RevokeApiKeyInput } from './user.inputs';
import type { Revocation, Revocations } from './revocations';
import type { RemovedRuns } from '../conversations/conversation.service';
import { ACTIVE_STATUSES_SQL } from '../runs/run-state';
import type { RunStatus } from '../runs/run.entity';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function requireAdmin(viewer: Viewer): void {
  if (viewer.role !== UserRole.ADMIN) throw forbidden('Only admins can do this');
}

export interface UserServiceDeps {
  /** Tells every node a credential ended, so its live subscriptions end too. */
  revocations: Revocations;
  /** Ends the runs that were active in what a removed user owned (their rows went with the user). */
  runsRemoved: RemovedRuns;
}

export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  async me(ctx: Context, viewer: Viewer): Promise<User> {
    const user = await ctx.em.findOne(User, { id: viewer.id });
    if (!user) throw notFound('User', viewer.id);
    return user;
  }

  async createUser(ctx: Context, viewer: Viewer, input: CreateUserInput): Promise<{ user: User; apiKey: string }> {
    requireAdmin(viewer);
    const email = requireText(input.email, 'email', LIMITS.email).trim().toLowerCase();
    if (!EMAIL.test(email)) throw badInput('email', 'is not an e-mail address');
    return ctx.em.transactional(async (em) => {
      if (await em.count(User, { email })) throw conflict(`A user with e-mail ${email} exists`, { field: 'email' });
      const user = em.create(User, { email, role: input.role });
      const key = generateApiKey();
      em.create(ApiKey, { user, name: 'default', prefix: key.prefix, hash: key.hash });
      return { user, apiKey: key.secret };
    });
  }

  async createApiKey(ctx: Context, viewer: Viewer, input: CreateApiKeyInput): Promise<{ key: ApiKey; apiKey: string }> {
    const name = requireText(input.name, 'name', 100);
    const userId = optionalId(input.userId, 'userId') ?? viewer.id;
    if (userId !== viewer.id) requireAdmin(viewer);
    const user = await ctx.em.findOne(User, { id: userId });
    if (!user) throw notFound('User', userId);
    const secret = generateApiKey();
    const key = ctx.em.create(ApiKey, { user, name, prefix: secret.prefix, hash: secret.hash });
    await ctx.em.flush();
    return { key, apiKey: secret.secret };
  }

  async revokeApiKey(ctx: Context, viewer: Viewer, input: RevokeApiKeyInput): Promise<ApiKey> {
    const id = requireId(input.apiKeyId, 'apiKeyId');
    const where = viewer.role === UserRole.ADMIN ? { id } : { id, user: viewer.id };
    const key = await ctx.em.findOne(ApiKey, where);
    if (!key) throw notFound('ApiKey', id);
    if (!key.revokedAt) {
      key.revokedAt = new Date();
      await ctx.em.flush();
    }
    // Sent again for a key already revoked: harmless, and a retry after a lost message ends what it missed.
    await this.announce(ctx, { apiKeyId: key.id });
    return key;
  }

  /**
   * Removes a user and everything they own (conversations, agents, runs,
   * keys) in one cascading delete, ends their active runs, and ends their
   * live subscriptions on every node. Admins only, and not themselves: the
   * last admin cannot lock everyone out this way.
   */
  async deleteUser(ctx: Context, viewer: Viewer, input: DeleteUserInput): Promise<string> {
    requireAdmin(viewer);
    const id = requireId(input.userId, 'userId');
    if (id === viewer.id) throw badInput('userId', 'you cannot delete yourself');
    const active = await ctx.em.transactional(async (em) => {
      // Locked first, so a run this user starts meanwhile has either committed (and is listed) or fails on the foreign key.
      const user = await em.findOne(User, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!user) throw notFound('User', id);
      const runs = await em.getConnection().execute<{ id: string; status: RunStatus }[]>(
        'select id, status from runs where owner_id = ? and status = any(?::run_status[])',
        [id, ACTIVE_STATUSES_SQL],
        'all',
        em.getTransactionContext(),
      );
      await em.nativeDelete(User, { id });
      return runs;
    });
    await this.announce(ctx, { userId: id });
    for (const err of await this.deps.runsRemoved(active)) ctx.logger.error({ err, userId: id }, 'could not end a run of a deleted user');
    return id;
  }

  /** The change has committed: a node that misses the message still refuses the credential at its next operation. */
  private async announce(ctx: Context, revocation: Revocation): Promise<void> {
    try {
      await this.deps.revocations.publish(revocation);
    } catch (err) {
      ctx.logger.error({ err, ...revocation }, 'could not announce a revocation; live subscriptions under it continue until their next operation');
    }
  }

  async listApiKeys(ctx: Context, userId: string): Promise<ApiKey[]> {
    return ctx.em.find(ApiKey, { user: userId }, { orderBy: { id: 'asc' } });
  }
}

/**
 * Boot-time admin: with PARLEY_ADMIN_KEY, that key belongs to the admin user;
 * without it, a first start on an empty database creates an admin and returns
 * its key so main can print it once.
 */
export async function ensureAdmin(em: EntityManager, adminKey?: string): Promise<string | undefined> {
  // Processes that start together on an empty database take turns, so the admin is created once.
  return em.transactional(async (tx) => {
    await tx.getConnection().execute('select pg_advisory_xact_lock(?)', [ENSURE_ADMIN_LOCK], 'all', tx.getTransactionContext());
    return ensureAdminLocked(tx, adminKey);
  });
}

/** Any fixed key, distinct from the migration lock's (src/db/orm.ts). */
const ENSURE_ADMIN_LOCK = 0x5061726c6561;

async function ensureAdminLocked(em: EntityManager, adminKey?: string): Promise<string | undefined> {
  const email = 'admin@parley.local';
  if (adminKey) {
    const hash = hashApiKey(adminKey);
    if (await em.count(ApiKey, { hash })) return undefined;
    let admin = await em.findOne(User, { email });
    admin ??= em.create(User, { email, role: UserRole.ADMIN });
    em.create(ApiKey, { user: admin, name: 'PARLEY_ADMIN_KEY', prefix: adminKey.slice(0, 11), hash });
    await em.flush();
    return undefined;
  }
  if (await em.count(User, {})) return undefined;
  const key = generateApiKey();
  const admin = em.create(User, { email, role: UserRole.ADMIN });
  em.create(ApiKey, { user: admin, name: 'bootstrap', prefix: key.prefix, hash: key.hash });
  await em.flush();
  return key.secret;
}
