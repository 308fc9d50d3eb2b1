import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context, Viewer } from '../../server/context';
import { badInput, conflict, forbidden, notFound } from '../../server/errors';
import { optionalId, requireId, requireText, LIMITS } from '../../server/validate';
import { ApiKey } from './api-key.entity';
import { User, UserRole } from './user.entity';
import { generateApiKey, hashApiKey } from './api-key';
import type { CreateApiKeyInput, CreateUserInput, RevokeApiKeyInput } from './user.inputs';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function requireAdmin(viewer: Viewer): void {
  if (viewer.role !== UserRole.ADMIN) throw forbidden('Only admins can do this');
}

export class UserService {
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
    return key;
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
