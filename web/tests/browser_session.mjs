// The browser tests' session, shared by their files (browser.mjs runs them in one process): the
// demo on loopback, Debian's Chromium, the demo's API (harness.mjs) and pages that record every
// console error for the last test.
import { after, before } from 'node:test';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OPEN_MAP as OPEN_CASES, apiClient, launchChromium, startDemo } from './harness.mjs';

const { values: args } = parseArgs({
  options: {
    gridwatch: { type: 'string', default: 'build/app/gridwatch' },
    artifacts: { type: 'string', default: 'build/web-artifacts' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
export const artifacts = resolve(args.artifacts);
mkdirSync(artifacts, { recursive: true });

export const OPEN_MAP = `${OPEN_CASES}&limit=10000`;
export const SIZES = { wall: { width: 2560, height: 1440 }, desk: { width: 1440, height: 900 }, phone: { width: 390, height: 844 } };

// Set once the session has started (live bindings: read them inside the tests).
export let demo, base, brokerUrl, dataDir, browser;
export let api, ticket, placesForWorker; // the demo's API (harness.mjs)
export const consoleErrors = [];
let offline = false; // while the worker's phone is offline, failed requests are expected
export function allowOffline(on) { offline = on; }

export async function newPage(size, url, { geolocation } = {}) {
  const context = await browser.newContext({ viewport: SIZES[size], locale: 'en-US', geolocation, permissions: geolocation ? ['geolocation'] : [] });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (offline && /ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(m.text())) return;
    consoleErrors.push(`${size} ${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${size} ${page.url()}: uncaught ${e.message}`));
  await page.goto(base + url);
  return page;
}

before(async () => {
  demo = await startDemo(args.gridwatch);
  ({ base, brokerUrl, dataDir } = demo);
  ({ api, ticket, placesForWorker } = apiClient(base));
  browser = await launchChromium(args.chromium);
});

after(async () => {
  if (browser) await browser.close();
  if (demo) await demo.stop();
});
