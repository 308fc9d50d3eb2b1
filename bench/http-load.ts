/**
 * A closed-loop HTTP load generator, run as a child process by bench/reads.ts
 * so its own CPU is not counted as the server's: `connections` keep-alive
 * connections each send the next request as soon as the previous answer has
 * been read in full. Reports over IPC: `measuring` when the warm-up ends,
 * `stopped` when the timed window closes, then the window's latencies.
 */
import { Agent, request } from 'node:http';

export interface LoadJob {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  requests: number;
  failures: number;
  firstFailure?: string;
  elapsedMs: number;
  latenciesMs: number[];
  bytes: number;
}

function send(agent: Agent, job: LoadJob): Promise<{ ok: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(job.url, { method: 'POST', agent, headers: { ...job.headers, 'content-length': Buffer.byteLength(job.body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        // A GraphQL error answers 200 too: a body naming `errors` is a failure.
        resolve({ ok: res.statusCode === 200 && !text.startsWith('{"errors"') && !text.includes('"errors":['), text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(job.body);
  });
}

async function run(job: LoadJob): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;
  // The window is timed here and reported as it opens and closes, so the server's CPU is read over exactly it.
  setTimeout(() => process.send?.({ type: 'measuring' }), job.warmupMs);
  setTimeout(() => process.send?.({ type: 'stopped' }), job.warmupMs + job.durationMs);
  const result: LoadResult = { requests: 0, failures: 0, elapsedMs: 0, latenciesMs: [], bytes: 0 };
  const loop = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const { ok, text } = await send(agent, job);
      const t1 = performance.now();
      // Counted by completion: throughput and CPU per request cover the same window.
      if (t1 < measureFrom || t1 > end) continue;
      result.requests++;
      result.bytes += text.length;
      result.latenciesMs.push(t1 - t0);
      if (!ok) {
        result.failures++;
        result.firstFailure ??= text.slice(0, 300);
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, loop));
  result.elapsedMs = job.durationMs;
  agent.destroy();
  return result;
}

process.once('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send?.({ type: 'done', result }, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
