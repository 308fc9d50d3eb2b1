import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Express, NextFunction, Request, Response } from 'express';
import { EXAMPLE_DOCUMENT, EXAMPLE_VARIABLES, EXPLORER_CSS, EXPLORER_SCRIPT, renderPage } from './explorer-page';

/**
 * GraphiQL at GET /graphql for browsers (PARLEY_EXPLORER), served from npm
 * packages only: the page works with no network, and nothing it runs comes
 * from a third party. Assets live under `<path>/explorer/assets/` with a
 * content hash in their names, so they are cached for a year and a new
 * version of any of them is a new URL.
 */

type AssetKind = 'js' | 'css';

interface Asset {
  kind: AssetKind;
  body: Buffer;
  etag: string;
  gzipped?: Promise<Buffer>;
}

/** UMD builds that need no bundler: React 18 (19 ships none), GraphiQL 4 (5 ships none), graphql-ws. */
const NPM_FILES: { name: string; pkg: string; file: string; kind: AssetKind }[] = [
  { name: 'graphiql', pkg: 'graphiql', file: 'graphiql.min.css', kind: 'css' },
  { name: 'react', pkg: 'react', file: 'umd/react.production.min.js', kind: 'js' },
  { name: 'react-dom', pkg: 'react-dom', file: 'umd/react-dom.production.min.js', kind: 'js' },
  { name: 'graphql-ws', pkg: 'graphql-ws', file: 'umd/graphql-ws.min.js', kind: 'js' },
  { name: 'graphiql', pkg: 'graphiql', file: 'graphiql.min.js', kind: 'js' },
];

const CONTENT_TYPES: Record<AssetKind, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/**
 * The page runs only our own files: no inline script (its settings are a JSON
 * block), no third-party origin, and no framing (a page that holds an API key
 * is not to be overlaid by another site). GraphiQL sets inline styles, and its
 * stylesheet embeds its fonts and icons as data: URLs.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const gzipAsync = promisify(gzip);

function hashed(name: string, kind: AssetKind, body: Buffer): [string, Asset] {
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return [`${name}.${digest}.${kind}`, { kind, body, etag: `"${digest}"` }];
}

function packageFile(pkg: string, file: string): Buffer {
  // Through package.json: these packages' `exports` do not list their UMD files.
  return readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), file));
}

/** True for a browser navigating to the endpoint, not for a GraphQL GET request or an API client. */
function wantsPage(req: Request): boolean {
  if (req.query.query !== undefined || req.query.extensions !== undefined) return false;
  return req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html';
}

/** Mounts the page at `path` (before the GraphQL handler) and its assets under `path`/explorer/assets. */
export function mountExplorer(app: Express, path = '/graphql'): void {
  const assetsPath = `${path}/explorer/assets`;
  const assets = new Map<string, Asset>();
  const links: Record<AssetKind, string[]> = { js: [], css: [] };
  const add = (name: string, kind: AssetKind, body: Buffer) => {
    const [file, asset] = hashed(name, kind, body);
    assets.set(file, asset);
    links[kind].push(`${assetsPath}/${file}`);
  };
  for (const f of NPM_FILES) add(f.name, f.kind, packageFile(f.pkg, f.file));
  add('explorer', 'css', Buffer.from(EXPLORER_CSS));
  add('explorer', 'js', Buffer.from(EXPLORER_SCRIPT));
  const page = renderPage(links, { defaultQuery: EXAMPLE_DOCUMENT, defaultVariables: EXAMPLE_VARIABLES });

  app.get(`${assetsPath}/:file`, (req: Request, res: Response, next: NextFunction) => {
    const asset = assets.get(String(req.params.file));
    if (!asset) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    res.set({
      'Content-Type': CONTENT_TYPES[asset.kind],
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: asset.etag,
      Vary: 'Accept-Encoding',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    if (!req.acceptsEncodings('gzip')) {
      res.send(asset.body);
      return;
    }
    // Compressed on first request and kept: GraphiQL's 1 MB bundle goes out as about 300 kB.
    asset.gzipped ??= gzipAsync(asset.body);
    asset.gzipped.then((body) => res.set('Content-Encoding', 'gzip').send(body), next);
  });

  app.get(path, (req: Request, res: Response, next: NextFunction) => {
    if (!wantsPage(req)) return next();
    res.set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': PAGE_CSP,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      Vary: 'Accept',
    });
    res.send(page);
  });
}
