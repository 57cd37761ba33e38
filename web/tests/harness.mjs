// What the browser tests and the web benchmark share: the demo on a free loopback port in a
// temporary folder, its API as the tests call it, and Debian's Chromium started headless for this
// machine's closed network.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

// Not import.meta.dirname: Node.js 18 (Debian 12's) does not have it.
export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// The demo's own credentials (app/demo.cc).
export const DISPATCHER = 'demo-dispatcher-token-0123';
export const WORKER = 'demo-worker-xizhimen-token';
export const WORKER2 = 'demo-worker-xizhimen-2-token'; // a second worker of the same grid
export const HOTLINE_KEY = 'demo-hotline-key-0123456789';
// The cases the control center's map shows: open problems whose work is not over.
export const OPEN_MAP = '/api/v1/orders?status=open&state=new,dispatched,accepted,in_progress,resolved,rejected,reopened,verifying';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
    s.on('error', fail);
  });
}

export async function until(what, check, timeoutMs = 10_000, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// `gridwatch demo` with its pages; resolves once its banner is out: {base, brokerUrl, dataDir, pid, stop()}.
export async function startDemo(gridwatch, seconds = 900) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-web-'));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as an unprivileged user when this runs as root
  const demo = spawn(resolve(gridwatch), ['demo', '--duration', String(seconds), '--http-port', String(port), '--data-dir', dataDir,
    '--log-level', 'warn'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = null;
  demo.stdout.on('data', (d) => { out += d; });
  demo.stderr.on('data', (d) => { out += d; });
  demo.once('exit', (code) => { exited = code; });
  const stop = async () => {
    if (exited === null) {
      demo.kill('SIGTERM');
      await new Promise((r) => demo.once('exit', r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await until('the demo to start', () => {
      if (exited !== null) throw new Error(`the demo exited with ${exited}`);
      return out.includes('gridwatch demo is running');
    }, 180_000, 200);
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n${out.slice(-3000)}`);
  }
  return { base: `http://127.0.0.1:${port}`, brokerUrl: /broker:\s+(tcp:\/\/\S+)/.exec(out)[1], dataDir, pid: demo.pid, stop };
}

// The browser's own omnibox pop-up (a WebUI page Chromium loads with its first window, ~0.2-0.6 s
// of CPU) is turned off: it would run beside the first page a test or benchmark measures.
export function launchChromium(executablePath = '/usr/bin/chromium') {
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
      '--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup'],
  });
}

// The demo's API at `base`: api(path, {token, method, body, form}) -> {status, json} (the
// dispatcher's token unless told), ticket(lon, lat, category, description) -> the id of the case
// a hotline ticket opened or joined, placesForWorker() -> the worker's identity and a point
// inside its grid cell.
export function apiClient(base) {
  async function api(path, { token = DISPATCHER, method = 'GET', body, form } = {}) {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    let payload;
    if (form) payload = new URLSearchParams(form);
    else if (body) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    const res = await fetch(base + path, { method, headers, body: payload });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  let ticketSeq = 0;
  async function ticket(lon, lat, category = 'sanitation.dumped_waste', description = 'browser test') {
    ticketSeq += 1;
    const r = await api('/open311/v2/requests.json', { token: null, method: 'POST',
      form: { api_key: HOTLINE_KEY, service_code: category, lat: String(lat), long: String(lon), description: `${description} ${ticketSeq}`, phone: `1380000${String(ticketSeq).padStart(4, '0')}` } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const id = r.json[0].service_request_id;
    const c = await api(`/api/v1/orders/${id}`);
    return c.json.id; // the case it opened or joined
  }

  async function placesForWorker() {
    const me = (await api('/api/v1/me', { token: WORKER })).json;
    const areas = (await api('/api/v1/areas')).json.features;
    const cell = areas.find((f) => f.id === me.grid);
    assert.ok(cell, `the worker's grid ${me.grid} is among the areas`);
    const ring = cell.geometry.type === 'MultiPolygon' ? cell.geometry.coordinates[0][0] : cell.geometry.coordinates[0];
    const lons = ring.map((c) => c[0]), lats = ring.map((c) => c[1]);
    const inside = { lon: (Math.min(...lons) + Math.max(...lons)) / 2, lat: (Math.min(...lats) + Math.max(...lats)) / 2 };
    return { me, inside };
  }

  return { api, ticket, placesForWorker };
}
