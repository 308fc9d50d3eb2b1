import type { Browser, Page } from 'puppeteer-core';
import { startTestParley, type TestParley } from '../support/parley';
import { launchChromium, offlinePage, type OfflinePage } from './browser';

/**
 * The explorer as a person uses it, in a real headless Chromium with every
 * request off this machine blocked: the page loads from the server alone,
 * the pasted key authenticates a query over HTTP and a subscription over
 * graphql-ws, and a demo run's tokens arrive in the result pane.
 */

// Minimal shapes of what the page holds; the functions below run in the browser.
interface CodeMirror {
  getValue(): string;
  setValue(value: string): void;
  setCursor(pos: { line: number; ch: number }): void;
  focus(): void;
  lineCount(): number;
  getLine(line: number): string;
}
interface Node {
  CodeMirror?: CodeMirror;
  textContent: string | null;
  getAttribute(name: string): string | null;
}
interface BrowserWindow {
  document: { querySelector(selector: string): Node | null; querySelectorAll(selector: string): ArrayLike<Node> };
  MutationObserver: new (cb: () => void) => { observe(target: Node, opts: Record<string, boolean>): void };
  parleySeen?: string[];
}

const QUERY_EDITOR = 'section.graphiql-query-editor .CodeMirror';
const VARIABLES_EDITOR = 'section.graphiql-editor-tool[aria-label="Variables"] .graphiql-editor:not(.hidden) .CodeMirror';
const RESULT = 'section.result-window .CodeMirror';

function editorValue(page: Page, selector: string): Promise<string> {
  return page.evaluate((sel) => {
    const w = globalThis as unknown as BrowserWindow;
    return w.document.querySelector(sel)?.CodeMirror?.getValue() ?? '';
  }, selector);
}

/** What a person does by pasting ids into the Variables pane. */
function setVariables(page: Page, variables: Record<string, unknown>): Promise<void> {
  return page.evaluate(
    (sel, text) => {
      const w = globalThis as unknown as BrowserWindow;
      w.document.querySelector(sel)!.CodeMirror!.setValue(text);
    },
    VARIABLES_EDITOR,
    JSON.stringify(variables, null, 2),
  );
}

/** Clicks into the operation named `name` in the example document and runs it with Ctrl-Enter. */
async function runAtOperation(page: Page, name: string): Promise<void> {
  await page.evaluate(
    (sel, opName) => {
      const cm = (globalThis as unknown as BrowserWindow).document.querySelector(sel)!.CodeMirror!;
      for (let line = 0; line < cm.lineCount(); line++) {
        if (new RegExp(`^(query|mutation|subscription) ${opName}\\b`).test(cm.getLine(line))) {
          cm.focus();
          cm.setCursor({ line: line + 1, ch: 2 });
          return;
        }
      }
      throw new Error(`no operation ${opName} in the query editor`);
    },
    QUERY_EDITOR,
    name,
  );
  await page.keyboard.down('Control');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Control');
}

/** Waits until the result pane shows a JSON result whose data has `field`, and returns it. */
async function resultWith<T>(page: Page, field: string): Promise<T> {
  await page.waitForFunction(
    (sel, f) => {
      const text = (globalThis as unknown as BrowserWindow).document.querySelector(sel)?.CodeMirror?.getValue() ?? '';
      try {
        const parsed = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown };
        return Boolean(parsed.data?.[f] || parsed.errors);
      } catch {
        return false;
      }
    },
    { polling: 'mutation' },
    RESULT,
    field,
  );
  const result = JSON.parse(await editorValue(page, RESULT)) as { data?: Record<string, unknown>; errors?: unknown };
  if (!result.data?.[field]) throw new Error(`${field} failed in the explorer: ${JSON.stringify(result.errors)}`);
  return result.data[field] as T;
}

describe('explorer (GraphiQL) in headless Chromium, network blocked', () => {
  let parley: TestParley;
  let browser: Browser | undefined;
  let tab: OfflinePage;

  beforeAll(async () => {
    // First: without a Chromium there is nothing to test, and the error says how to get one.
    browser = await launchChromium();
    // Paced so that a run is still streaming when the browser subscribes to it.
    parley = await startTestParley({ env: { PARLEY_DEMO_TOKEN_DELAY_MS: '60' } });
    tab = await offlinePage(browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await parley?.stop();
  });

  it('loads GraphiQL from the server alone, with the example document', async () => {
    const { page } = tab;
    const res = await page.goto(parley.url, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toMatch(/^text\/html/);
    await page.waitForSelector(QUERY_EDITOR);
    await page.waitForSelector(VARIABLES_EDITOR);

    const document = await editorValue(page, QUERY_EDITOR);
    for (const op of ['query Viewer', 'mutation SendMessage', 'subscription RunEvents', '"demo/demo"']) expect(document).toContain(op);
    expect(JSON.parse(await editorValue(page, VARIABLES_EDITOR))).toEqual({ conversationId: '', runId: '' });
    // Everything the page loaded came from this server.
    const sources = await page.evaluate(() =>
      Array.from((globalThis as unknown as BrowserWindow).document.querySelectorAll('script[src], link[href]'), (n) => n.getAttribute('src') ?? n.getAttribute('href')),
    );
    for (const src of sources) expect(src).toMatch(/^(\/graphql\/explorer\/assets\/|data:)/);
    expect(tab.outside).toEqual([]);
    expect(tab.problems).toEqual([]);
  });

  it('runs viewer with the pasted key, over HTTP', async () => {
    const { page } = tab;
    await page.type('#parley-api-key', parley.adminKey);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#parley-key-status[data-key="set"]');

    // Several operations in the document: the run button asks which one.
    await page.click('.graphiql-execute-button');
    const item = await page.waitForSelector('::-p-xpath(//*[@role="menuitem"][normalize-space()="Viewer"])');
    await item!.click();
    const viewer = await resultWith<{ id: string; email: string; role: string }>(page, 'viewer');

    const expected = await parley.gql<{ viewer: { id: string; email: string } }>('{ viewer { id email } }');
    expect(viewer).toMatchObject({ ...expected.data!.viewer, role: 'ADMIN' });
    expect(tab.outside).toEqual([]);
    expect(tab.problems).toEqual([]);
  });

  it('starts a demo run and streams its tokens over graphql-ws into the result pane', async () => {
    const { page } = tab;
    await runAtOperation(page, 'StartConversation');
    const { conversation } = await resultWith<{ conversation: { id: string } }>(page, 'createConversation');
    await setVariables(page, { conversationId: conversation.id, runId: '' });

    await runAtOperation(page, 'SendMessage');
    const { run } = await resultWith<{ run: { id: string } }>(page, 'sendMessage');
    await setVariables(page, { conversationId: conversation.id, runId: run.id });

    // Every state the result pane goes through, as the person watching it sees them.
    await page.evaluate((sel) => {
      const w = globalThis as unknown as BrowserWindow;
      const seen: string[] = (w.parleySeen = []);
      const pane = w.document.querySelector(sel)!;
      new w.MutationObserver(() => {
        try {
          const event = (JSON.parse(pane.CodeMirror!.getValue()) as { data?: { runEvents?: { __typename: string; seq: number; text?: string } } }).data
            ?.runEvents;
          const entry = event && `${event.seq} ${event.__typename} ${event.text ?? ''}`;
          if (entry && seen[seen.length - 1] !== entry) seen.push(entry);
        } catch {
          // mid-update or not an event
        }
      }).observe(pane, { childList: true, subtree: true, characterData: true });
    }, RESULT);
    await runAtOperation(page, 'RunEvents');
    await page.waitForFunction(() => ((globalThis as unknown as BrowserWindow).parleySeen ?? []).some((e) => / RunCompleted /.test(e)), {
      polling: 'mutation',
    });
    const seen = await page.evaluate(() => (globalThis as unknown as BrowserWindow).parleySeen ?? []);

    const tokens = seen.filter((e) => / TokenDelta /.test(e));
    expect(tokens.length).toBeGreaterThan(1);
    const seqs = seen.map((e) => Number(e.split(' ')[0]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // The stream ended with the run: the stored run is complete.
    const stored = await parley.gql<{ run: { status: string } }>('query($id: ID!) { run(id: $id) { status } }', { id: run.id });
    expect(stored.data?.run.status).toBe('COMPLETED');
    expect(tab.outside).toEqual([]);
    expect(tab.problems).toEqual([]);
  });

  it('blocks the network for real: the CSP refuses other origins, and interception aborts what gets past it', async () => {
    // On the explorer page the Content-Security-Policy stops a request to another origin before it is sent.
    const refused = await tab.page.evaluate(async () => {
      try {
        await fetch('http://parley-explorer-test.invalid/');
        return false;
      } catch {
        return true;
      }
    });
    expect(refused).toBe(true);
    expect(tab.problems.join('\n')).toMatch(/Content Security Policy/);
    // A page without that policy does send it: the interception aborts it and records it.
    const bare = await offlinePage(browser!);
    await expect(bare.page.goto('http://parley-explorer-test.invalid/')).rejects.toThrow(/ERR_INTERNET_DISCONNECTED/);
    expect(bare.outside).toEqual(['http://parley-explorer-test.invalid/']);
    expect(tab.outside).toEqual([]);
  });
});
