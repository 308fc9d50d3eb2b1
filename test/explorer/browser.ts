import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/**
 * A headless Chromium for the explorer tests: the machine's own (Debian's
 * `chromium` package; .ci/run installs it), driven by puppeteer-core, which
 * downloads no browser. Without one the tests fail, saying how to get it.
 */
const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (executable(configured)) return configured;
    throw new Error(`CHROMIUM_PATH=${configured} is not an executable file`);
  }
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d));
  for (const name of CANDIDATES) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (executable(path)) return path;
    }
  }
  throw new Error(
    'The explorer tests need a Chromium and found none on PATH (looked for ' +
      `${CANDIDATES.join(', ')}). Install Debian's package: apt-get install -y chromium ` +
      '(.ci/run does), or set CHROMIUM_PATH to a Chrome or Chromium binary.',
  );
}

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      // Chromium refuses to start its sandbox as root (CI runs as root).
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-dev-shm-usage',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Belt and braces with the page's request interception: no name resolves but loopback.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
}

export interface OfflinePage {
  page: Page;
  /** Requests the page tried to send anywhere but loopback (each was aborted). */
  outside: string[];
  /** Uncaught exceptions, console errors (CSP violations among them) and failed loopback responses. */
  problems: string[];
}

const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'about:']);

function loopback(url: string): boolean {
  try {
    const u = new URL(url);
    if (LOCAL_SCHEMES.has(u.protocol)) return true;
    return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
}

/** A page whose every request off this machine is aborted and recorded: the network is "blocked". */
export async function offlinePage(browser: Browser): Promise<OfflinePage> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const outside: string[] = [];
  const problems: string[] = [];
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (loopback(req.url())) {
      void req.continue();
    } else {
      outside.push(req.url());
      void req.abort('internetdisconnected');
    }
  });
  page.on('pageerror', (err) => problems.push(`page error: ${String(err)}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()} ${msg.location().url ?? ''}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && loopback(res.url())) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  return { page, outside, problems };
}
