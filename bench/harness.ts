import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** npm runs scripts from the package root, whether a benchmark runs through ts-node or compiled into dist/bench. */
const RESULTS = join(process.cwd(), 'bench', 'results');

/** Writes a benchmark's raw result as bench/results/<name>-latest.json. */
export function writeResult(name: string, result: unknown): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${name}-latest.json`), JSON.stringify(result, null, 2) + '\n');
}

/** Runs a benchmark's main and exits: 0 when it finished, 1 (with the error) when it failed. */
export function runBenchmark(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** POSTs GraphQL to a Parley node with an API key; resolves with `data`, throws on any error. */
export function gqlClient(url: string, key: string) {
  const endpoint = url.replace('localhost', '127.0.0.1');
  return async (query: string, variables: Record<string, unknown>): Promise<unknown> => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: unknown };
    if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
}
