/**
 * Headless Chromium for the browser tests: Debian's `chromium` (`/usr/bin/chromium`, or
 * `CHROMIUM_PATH`), driven by playwright-core, on loopback only. Every request the page makes is
 * recorded, so a test can say that nothing left the machine and how often figures were asked.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** The Chromium binary: `CHROMIUM_PATH`, else `chromium` on the PATH, else /usr/bin/chromium. */
export function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return configured;
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // Not on the PATH.
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  throw new Error("no Chromium: install Debian's chromium (npm run setup:test) or set CHROMIUM_PATH");
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root (CI, containers) cannot use Chromium's sandbox; nothing but the local page is loaded.
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--lang=zh-CN',
    ],
  });
}

/** One request the page made. */
export interface SeenRequest {
  readonly at: number;
  readonly method: string;
  readonly url: string;
}

/** A page in its own context (cookies, storage), recording its requests, console errors and CSP reports. */
export interface RecordedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly requests: SeenRequest[];
  readonly errors: string[];
  close(): Promise<void>;
}

export async function openPage(browser: Browser, options: { locale?: string } = {}): Promise<RecordedPage> {
  const context = await browser.newContext({
    viewport: { width: 1600, height: 1000 },
    locale: options.locale ?? 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  const page = await context.newPage();
  const requests: SeenRequest[] = [];
  const errors: string[] = [];
  page.on('request', (request) =>
    requests.push({ at: Date.now(), method: request.method(), url: request.url() }),
  );
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  // Content-Security-Policy violations are events in the page, not console errors in every case.
  // (A script given as text: these files are type-checked without the DOM's types.)
  await page.addInitScript({
    content:
      "document.addEventListener('securitypolicyviolation', (e) => " +
      "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  });
  return { context, page, requests, errors, close: () => context.close() };
}
