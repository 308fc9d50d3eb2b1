import { loadConfig } from '../../src/config';
import { startTestParley, type TestParley } from '../support/parley';

/**
 * The explorer over plain HTTP: who gets the page (a browser navigating, not
 * an API client), when (off in production unless PARLEY_EXPLORER=on), and how
 * its assets are served (from npm packages, cached for good, compressed).
 */

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

const page = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { accept: BROWSER_ACCEPT, ...headers } });

function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/graphql\/explorer\/assets\/[^"]+)"/g)].map((m) => m[1]);
}

describe('PARLEY_EXPLORER configuration', () => {
  it('is on by default outside production and off in production, like introspection', () => {
    expect(loadConfig({}).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ explorer: false, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', PARLEY_EXPLORER: 'on' }).explorer).toBe(true);
    expect(loadConfig({ PARLEY_EXPLORER: 'off' }).explorer).toBe(false);
    expect(() => loadConfig({ PARLEY_EXPLORER: 'yes' })).toThrow(/PARLEY_EXPLORER/);
  });
});

describe('explorer in production, by default', () => {
  let parley: TestParley;
  beforeAll(async () => {
    parley = await startTestParley({ env: { NODE_ENV: 'production' } });
  }, 120_000);
  afterAll(() => parley?.stop());

  it('serves no page: a browser gets the GraphQL endpoint’s JSON answer, and no asset exists', async () => {
    const res = await page(parley.url);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.text();
    expect(body).not.toMatch(/<html|graphiql|sandbox|apollo-server-landing-page/i);

    const asset = await fetch(`${parley.url}/explorer/assets/explorer.000000000000.js`);
    expect(asset.headers.get('content-type') ?? '').not.toMatch(/javascript/);
  });

  it('still answers GraphQL, with CSRF prevention on', async () => {
    expect((await parley.gql('{ viewer { id } }')).data).toEqual({ viewer: { id: expect.any(String) } });
    // A "simple" request (no preflight in a browser) is refused.
    const simple = await fetch(parley.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${parley.adminKey}` },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(simple.status).toBe(400);
    expect(await simple.text()).toMatch(/CSRF/i);
  });
});

describe('explorer in production with PARLEY_EXPLORER=on', () => {
  let parley: TestParley;
  beforeAll(async () => {
    parley = await startTestParley({ env: { NODE_ENV: 'production', PARLEY_EXPLORER: 'on' } });
  }, 120_000);
  afterAll(() => parley?.stop());

  it('serves GraphiQL to a browser, under a policy that allows this server only', async () => {
    const res = await page(parley.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).toContain('<title>Parley explorer</title>');
    // Nothing from another origin; no inline script (the settings are a JSON block).
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>/);
    expect(assetUrls(html).map((u) => u.replace(/\.[0-9a-f]{12}\./, '.*.'))).toEqual([
      '/graphql/explorer/assets/graphiql.*.css',
      '/graphql/explorer/assets/explorer.*.css',
      '/graphql/explorer/assets/react.*.js',
      '/graphql/explorer/assets/react-dom.*.js',
      '/graphql/explorer/assets/graphql-ws.*.js',
      '/graphql/explorer/assets/graphiql.*.js',
      '/graphql/explorer/assets/explorer.*.js',
    ]);
  });

  it('leaves API clients the GraphQL endpoint: JSON and GraphQL GET requests get no page', async () => {
    const curl = await fetch(parley.url, { headers: { accept: '*/*' } });
    expect(curl.headers.get('content-type')).toMatch(/^application\/json/);
    const json = await fetch(parley.url, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    // A GraphQL GET (a browser opening a query URL too) is executed, never answered with the page.
    const get = await page(`${parley.url}?query=${encodeURIComponent('{ viewer { id } }')}`, {
      'apollo-require-preflight': 'true',
      authorization: `Bearer ${parley.adminKey}`,
    });
    expect(get.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await get.json()) as { data: unknown }).data).toEqual({ viewer: { id: expect.any(String) } });
  });

  it('serves its assets from npm packages, cached for a year, revalidated by ETag, gzipped on request', async () => {
    const html = await (await page(parley.url)).text();
    const base = new URL(parley.url).origin;
    for (const path of assetUrls(html)) {
      const res = await fetch(base + path, { headers: { 'accept-encoding': 'identity' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(path.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);

      // As a browser revalidates on reload (fetch would add `cache-control: no-cache`, which forbids a 304).
      const again = await fetch(base + path, { headers: { 'if-none-match': res.headers.get('etag')!, 'cache-control': 'max-age=0' } });
      expect(again.status).toBe(304);
    }
    const bundle = assetUrls(html).find((u) => /\/graphiql\.[0-9a-f]+\.js$/.test(u))!;
    const plain = await fetch(base + bundle, { headers: { 'accept-encoding': 'identity' } });
    const gzipped = await fetch(base + bundle, { headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    // fetch decompresses: the same bytes either way.
    expect(Buffer.from(await gzipped.arrayBuffer()).equals(Buffer.from(await plain.arrayBuffer()))).toBe(true);

    const unknown = await fetch(`${base}/graphql/explorer/assets/graphiql.000000000000.js`);
    expect(unknown.status).toBe(404);
  });
});
