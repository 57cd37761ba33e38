// The pages in a real browser (Debian's Chromium driven by playwright-core) against the demo on
// loopback: the map against the API, a live order from MQTT, the worker's phone (online and
// offline), scan-to-report, screenshots at wall/desk/phone sizes, and no console errors.
//
//   node web/tests/browser.mjs --gridwatch build/app/gridwatch --artifacts build/web-artifacts
//
// Run from the repository's root after the pages are built (scripts/build.sh).
// The tests are in browser_center.mjs and browser_field.mjs; browser_session.mjs starts the demo
// and the browser once for all of them, in this process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consoleErrors } from './browser_session.mjs';
import './browser_center.mjs';
import './browser_field.mjs';

describe('console', () => {
  it('no page logged an error', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
