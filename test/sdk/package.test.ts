import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestParley, type TestParley } from '../support/parley';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

/**
 * @parley/sdk as a user gets it: `npm pack`ed, installed from the tarball into
 * scratch projects outside the repo (a Node ESM one and a CommonJS one), run
 * with plain `node` against a live server, and type-checked as a dependency of
 * TypeScript projects (moduleResolution nodenext and bundler).
 */

const ROOT = path.join(__dirname, '..', '..');
const SDK = path.join(ROOT, 'sdk');
const TSC = require.resolve('typescript/bin/tsc');
const run = promisify(execFile);

const versionOf = async (name: string) =>
  (JSON.parse(await readFile(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** npm, quiet, with nothing from an outer `npm run` (workspace or prefix settings) leaking in. */
function npm(args: string[], cwd: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env, maxBuffer: 16 * 1024 * 1024 });
}

/**
 * The user script of both projects: a conversation, a message whose reply
 * needs a client tool (so the run pauses in REQUIRES_ACTION with the
 * subscription open), the socket dropped right there, the tool output
 * submitted, and the stream read to its end; it prints what it saw as JSON.
 */
const consumer = (dropSocket: string) => `
  const calculator = { name: 'calculator', description: 'Computes an expression', parameters: { type: 'object', properties: { expression: { type: 'string' } } } };
  const conversation = await parley.conversations.create({ title: 'from the tarball' });
  const stream = await parley.chat.send({ conversationId: conversation.id, content: 'What is 6*7?', settings: { clientTools: [calculator] } });
  const events = [];
  let dropped = false;
  let afterDrop = 0;
  for await (const event of stream) {
    events.push(event);
    if (dropped) afterDrop++;
    if (event.__typename === 'RequiresAction') {
      ${dropSocket}
      dropped = true;
      const toolOutputs = event.toolCalls.map((c) => ({ toolCallId: c.id, output: JSON.stringify({ expression: '6*7', result: 42 }) }));
      await parley.runs.submitToolOutputs({ runId: stream.runId, toolOutputs });
    }
  }
  const run = await parley.runs.get(stream.runId);
  const answer = await parley.messages.get(run.responseMessage.id);
  const missing = await parley.runs.get('018f0000-0000-7000-8000-000000000000').catch((e) => e);
  process.stdout.write('RESULT ' + JSON.stringify({
    seqs: events.map((e) => e.seq),
    types: events.map((e) => e.__typename),
    folded: foldRunEvents(events),
    snapshot: stream.snapshot(),
    answer: { content: answer.content, reasoning: answer.reasoning, toolCalls: answer.toolCalls },
    runStatus: run.status,
    afterDrop,
    error: { typed: missing instanceof ParleyError && isParleyError(missing, 'NOT_FOUND'), code: missing.code },
  }) + '\\n');
`;

const ESM_SCRIPT = `
import { createParleyClient, foldRunEvents, isParleyError, ParleyError } from '@parley/sdk';
import WebSocket from 'ws';

// webSocketImpl: a ws subclass that remembers its sockets, so the script can cut the live one.
const sockets = [];
class TrackedWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    sockets.push(this);
  }
}
const parley = createParleyClient({ url: process.env.PARLEY_URL, apiKey: process.env.PARLEY_API_KEY, webSocketImpl: TrackedWebSocket });
${consumer(`sockets.at(-1).terminate();`)}
process.stdout.write('SOCKETS ' + sockets.length + '\\n');
`;

const CJS_SCRIPT = `
const { createParleyClient, foldRunEvents, isParleyError, ParleyError } = require('@parley/sdk');
const readline = require('node:readline');

// No webSocketImpl: on Node 20 the SDK finds the installed \`ws\` by itself. The socket goes
// through the test's TCP proxy, which cuts it when asked.
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const parley = createParleyClient({ url: process.env.PARLEY_URL, wsUrl: process.env.PARLEY_WS_URL, apiKey: process.env.PARLEY_API_KEY });
(async () => {
  ${consumer(`process.stdout.write('PAUSED\\n');
      await lines.next(); // the test cut the connection`)}
  process.stdin.destroy();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
`;

const TYPED_CONSUMER = `
import { ConversationDocument, createParleyClient, foldRunEvents, isParleyError, type FoldedMessage, type RunEvent, type RunEventOf } from '@parley/sdk';

export async function reply(url: string, apiKey: string, conversationId: string): Promise<FoldedMessage> {
  const parley = createParleyClient({ url, apiKey, wsUrl: url.replace('http', 'ws') });
  const stream = await parley.chat.send({ conversationId, content: 'Hi' });
  const texts: string[] = [];
  for await (const event of stream) {
    if (event.__typename === 'TokenDelta') texts.push(event.text);
    // @ts-expect-error a TokenDelta has no toolCallId: the union is typed, not any
    if (event.__typename === 'TokenDelta') texts.push(event.toolCallId);
    if (event.__typename === 'ToolCallCompleted') {
      const output: string | null | undefined = event.output;
      texts.push(output ?? '');
    }
  }
  const { conversation } = await parley.request(ConversationDocument, { id: conversationId, first: 10 });
  const roles: string[] = conversation.messages.edges.map((e) => e.node.role);
  // @ts-expect-error id is an ID (string)
  await parley.request(ConversationDocument, { id: 1 });
  const started: RunEventOf<'ToolCallStarted'>['name'] = 'calculator';
  const seq: number = stream.lastSeq;
  try {
    await parley.runs.cancel(stream.runId);
  } catch (err) {
    if (isParleyError(err, 'CONFLICT')) texts.push(err.code, String(err.extensions?.code), started, String(seq), ...roles);
  }
  return foldRunEvents([] as RunEvent[]);
}
`;

interface ConsumerResult {
  seqs: number[];
  types: string[];
  folded: Record<string, unknown> & { text: string; reasoning: string; toolCalls: { name: string; arguments: string }[] };
  snapshot: unknown;
  answer: { content: string; reasoning: string | null; toolCalls: unknown };
  runStatus: string;
  afterDrop: number;
  error: { typed: boolean; code: string };
}

/** Runs `node file` in `cwd`; `onLine` sees each stdout line as it comes (and may answer on stdin). */
function runNode(cwd: string, file: string, env: Record<string, string>, onLine: (line: string, stdin: NodeJS.WritableStream) => void = () => undefined) {
  return new Promise<{ lines: string[]; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffered = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        onLine(line, child.stdin);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ lines, stderr }) : reject(new Error(`node ${file} exited with ${code}:\n${stderr}\n${lines.join('\n')}`))));
  });
}

const resultOf = (lines: string[]): ConsumerResult => {
  const line = lines.find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in:\n${lines.join('\n')}`);
  return JSON.parse(line.slice('RESULT '.length)) as ConsumerResult;
};

describe('@parley/sdk from its npm tarball', () => {
  let scratch: string;
  let esm: string;
  let cjs: string;
  let p: TestParley;
  let proxy: TcpProxy;
  let apiKey: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'parley-sdk-package-'));
    esm = path.join(scratch, 'esm');
    cjs = path.join(scratch, 'cjs');
    const packed = (async () => {
      // `npm pack` runs the package's prepack: a fresh build of dist/.
      await npm(['pack', '--pack-destination', scratch], SDK);
      const tarball = (await readdir(scratch)).find((f) => f.endsWith('.tgz'));
      if (!tarball) throw new Error('npm pack made no tarball');
      return path.join(scratch, tarball);
    })();
    const [graphql, ws, typesNode] = await Promise.all(['graphql', 'ws', '@types/node'].map(versionOf));
    const project = async (dir: string, type: 'module' | 'commonjs', extra: string[]) => {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: `parley-sdk-${type}-consumer`, private: true, type }));
      // The SDK's own dependency (graphql-ws) comes from the tarball's package.json; the rest
      // pins what the repo has installed, so the npm cache answers without the registry.
      await npm(['install', '--prefer-offline', '--ignore-scripts', await packed, `graphql@${graphql}`, `ws@${ws}`, ...extra], dir);
    };
    const started = startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '1' } });
    await Promise.all([project(esm, 'module', [`@types/node@${typesNode}`]), project(cjs, 'commonjs', [`@types/node@${typesNode}`]), started]);
    p = await started;
    apiKey = (await p.newUser()).apiKey;
    proxy = await startTcpProxy(Number(new URL(p.url).port));
  }, 300_000);

  afterAll(async () => {
    await proxy?.close();
    await p?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  function expectWholeRun(r: ConsumerResult) {
    // Every event once, in order, across the drop: seqs 1..n, ending on the terminal event.
    expect(r.seqs).toEqual(r.seqs.map((_, i) => i + 1));
    expect(r.types.at(-1)).toBe('RunCompleted');
    expect(r.types).toContain('RequiresAction');
    expect(r.afterDrop).toBeGreaterThan(0);
    expect(r.runStatus).toBe('COMPLETED');
    // The folded events are the message the server stored.
    expect(r.folded).toMatchObject({ status: 'COMPLETED', text: r.answer.content, done: true, error: null });
    expect(r.folded.text).toBe('The result is 42.');
    expect(r.answer.reasoning && r.folded.reasoning.endsWith(r.answer.reasoning)).toBe(true);
    expect(r.folded.toolCalls).toEqual([expect.objectContaining({ name: 'calculator', arguments: '{"expression":"6*7"}' })]);
    expect(r.snapshot).toEqual(r.folded);
    expect(r.error).toEqual({ typed: true, code: 'NOT_FOUND' });
  }

  it('streams a run in a Node ESM project through a socket cut mid-run (webSocketImpl given)', async () => {
    await writeFile(path.join(esm, 'stream.mjs'), ESM_SCRIPT);
    const { lines } = await runNode(esm, 'stream.mjs', { PARLEY_URL: p.url, PARLEY_API_KEY: apiKey });
    expectWholeRun(resultOf(lines));
    expect(lines).toContain('SOCKETS 2');
  });

  it('streams a run in a CommonJS project through a connection cut by the network (ws found by itself)', async () => {
    await writeFile(path.join(cjs, 'stream.cjs'), CJS_SCRIPT);
    const before = proxy.connections;
    let cut = 0;
    const { lines } = await runNode(cjs, 'stream.cjs', { PARLEY_URL: p.url, PARLEY_WS_URL: `ws://127.0.0.1:${proxy.port}/graphql`, PARLEY_API_KEY: apiKey }, (line, stdin) => {
      if (line !== 'PAUSED') return;
      cut += proxy.dropAll();
      stdin.write('cut\n');
    });
    expectWholeRun(resultOf(lines));
    expect(cut).toBeGreaterThan(0);
    expect(proxy.connections - before).toBe(2);
  });

  it.each([
    ['nodenext, ESM', 'esm', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022'], types: ['node'] }],
    ['nodenext, CommonJS', 'cjs', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022'], types: ['node'] }],
    ['bundler', 'esm', { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] }],
  ])('type-checks a TypeScript consumer (%s)', async (_name, dir, options) => {
    const cwd = path.join(scratch, dir);
    const tag = `${options.moduleResolution}`;
    await writeFile(path.join(cwd, `typed-${tag}.ts`), TYPED_CONSUMER);
    const tsconfig = {
      compilerOptions: { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, ...options },
      files: [`typed-${tag}.ts`],
    };
    await writeFile(path.join(cwd, `tsconfig.${tag}.json`), JSON.stringify(tsconfig));
    const out = await run(process.execPath, [TSC, '-p', `tsconfig.${tag}.json`], { cwd }).catch((err: { stdout?: string }) => err);
    expect((out as { stdout?: string }).stdout ?? '').toBe('');
  }, 120_000);
});
