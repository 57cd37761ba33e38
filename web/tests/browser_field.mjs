// The grid workers' phone (online and offline), patrol, and scan-to-report in the browser
// (browser.mjs runs it).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DISPATCHER, WORKER, WORKER2, until } from './harness.mjs';
import { allowOffline, api, artifacts, base, newPage, placesForWorker, ticket } from './browser_session.mjs';

describe('grid worker', () => {
  let page, mine, other, third;
  before(async () => {
    const { inside } = await placesForWorker();
    // Two cases in the worker's grid, dispatched (to the grid's worker too), one in another district.
    mine = await ticket(inside.lon, inside.lat, 'utilities.manhole_cover', 'manhole cover missing');
    // West of the centre: the demo's second worker walks the grid's east half (a case goes to the
    // nearest worker), and its first worker's patrol report of bikes is elsewhere.
    third = await ticket(inside.lon - 0.0006, inside.lat - 0.0001, 'fire.blocked_lane', 'a van blocks the fire lane');
    other = await ticket(116.4109, 39.9139, 'environment.odor', 'smell from the drain');
    // Worker 1 stands on the spot (the demo's second worker walks the grid): the cases are theirs.
    const at = await api('/api/v1/workers/w-xizhimen/position', { token: WORKER, method: 'PUT', body: { lon: inside.lon, lat: inside.lat, on_duty: true } });
    assert.equal(at.status, 200, JSON.stringify(at.json));
    for (const id of [mine, third]) {
      const d = await api(`/api/v1/orders/${id}/actions`, { method: 'POST', body: { action: 'dispatch', reason: 'browser test' } });
      assert.equal(d.status, 200, JSON.stringify(d.json));
    }
    page = await newPage('phone', `/worker?lang=en#token=${WORKER}`, { geolocation: { longitude: inside.lon, latitude: inside.lat } });
    await page.waitForSelector(`article[data-id="${mine}"]`, { timeout: 15_000 });
  });

  it('lists the grid\'s cases nearest first and not another grid\'s', async () => {
    // The first list may come before the phone's position; the one after it is nearest first.
    const cards = () => page.locator('article.card').evaluateAll((cs) => cs.map((c) => c.dataset.id));
    const ids = await until('nearest first', async () => {
      const now = await cards();
      return now.includes(mine) && now.includes(third) && now.indexOf(mine) < now.indexOf(third) && now;
    }, 15_000);
    assert.ok(!ids.includes(other), `case ${other} of another grid is listed`);
    assert.equal((await api(`/api/v1/orders/${other}`, { token: WORKER })).status, 403);
    await page.screenshot({ path: join(artifacts, 'worker-phone.png') });
  });

  it('accepts, starts and resolves a case with a photo and a note', async () => {
    const card = page.locator(`article[data-id="${mine}"]`);
    await card.locator('button[data-action="accept"]').click();
    await until('accepted', async () => (await api(`/api/v1/orders/${mine}`)).json.properties.state === 'accepted');
    await card.locator('button[data-action="start"]').click();
    await until('in progress', async () => (await api(`/api/v1/orders/${mine}`)).json.properties.state === 'in_progress');
    await card.locator('button[data-action="resolve"]').click();
    await card.locator('textarea[name="note"]').fill('new cover fitted');
    const photo = await page.screenshot({ type: 'jpeg', quality: 70 });
    await card.locator('input[name="photo"]').setInputFiles({ name: 'done.jpg', mimeType: 'image/jpeg', buffer: photo });
    await card.locator('form button[type="submit"]').click();
    // A manhole cover is verified on site by another worker of the grid (catalog): it waits.
    const resolved = await until('resolved, waiting for its verification', async () => {
      const c = (await api(`/api/v1/orders/${mine}`)).json;
      return c.properties.state === 'verifying' && c;
    });
    assert.equal(resolved.properties.verification.verifier, 'w-xizhimen-2');
    const step = resolved.properties.history.filter((h) => h.action === 'resolve').at(-1);
    assert.equal(step.actor, 'w-xizhimen');
    assert.equal(step.detail.reason, 'new cover fitted');
    const img = await fetch(base + step.detail.photo_url);
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/jpeg');
  });

  it('queues a step taken offline and sends it once when the signal returns', async () => {
    allowOffline(true);
    await page.context().setOffline(true);
    const card = page.locator(`article[data-id="${third}"]`);
    await card.locator('button[data-action="accept"]').click();
    await card.locator('.badge.queued').waitFor();
    await page.screenshot({ path: join(artifacts, 'worker-phone-offline.png') });
    assert.equal((await api(`/api/v1/orders/${third}`)).json.properties.state, 'dispatched');
    assert.equal((await page.evaluate(() => window.gridwatch.queued())).length, 1);
    await page.context().setOffline(false);
    await until('accepted after the signal returned', async () => (await api(`/api/v1/orders/${third}`)).json.properties.state === 'accepted', 15_000, 200);
    allowOffline(false);
    await until('the queue empty', async () => (await page.evaluate(() => window.gridwatch.queued())).length === 0);
    const accepts = (await api(`/api/v1/orders/${third}`)).json.properties.history.filter((h) => h.action === 'accept');
    assert.equal(accepts.length, 1);
  });
});

describe('grid workers on patrol', () => {
  let inside;
  before(async () => {
    ({ inside } = await placesForWorker());
  });

  it('reports a problem offline with a photo; online, it is on the control center map as proactive', async () => {
    const spot = { longitude: inside.lon + 0.002, latitude: inside.lat - 0.001 };
    const page = await newPage('phone', `/worker?lang=en#token=${WORKER}`, { geolocation: spot });
    await page.waitForSelector('#report-toggle');
    await until('the phone\'s position', () => page.evaluate(() => Boolean(window.gridwatch.position)), 15_000);
    await page.click('#report-toggle');
    // The grid's open cases nearest the phone come first: it may be known already.
    assert.match(await page.locator('#report-nearby').textContent(), /Open cases of your grid nearby: .+ m/);
    // The fix is off: the worker moves the point on the map, 80 px east of it.
    await page.click('#report-move');
    await page.waitForFunction(() => window.gridwatch.pickMap && window.gridwatch.pickMap.loaded(), null, { timeout: 15_000 });
    const box = await page.locator('#pick-map').boundingBox();
    await page.mouse.click(box.x + box.width / 2 + 80, box.y + box.height / 2);
    const picked = await until('the point moved', () => page.evaluate(() => window.gridwatch.reportPoint), 5000);
    assert.ok(picked.lon > spot.longitude + 0.0001, `${picked.lon} east of ${spot.longitude}`);
    assert.match(await page.locator('#report-position').textContent(), /moved on the map/);
    allowOffline(true);
    await page.context().setOffline(true);
    await page.selectOption('#report-form select[name="category"]', 'sanitation.dumped_waste');
    await page.fill('#report-form textarea[name="note"]', 'rubble left by the kerb, found on patrol');
    const photo = await page.screenshot({ type: 'jpeg', quality: 60 });
    await page.setInputFiles('#report-form input[name="photos"]', [{ name: 'rubble.jpg', mimeType: 'image/jpeg', buffer: photo }]);
    await page.click('#report-form button[type="submit"]');
    await page.locator('#reports-queued').waitFor();
    const queued = await page.evaluate(() => window.gridwatch.queued());
    assert.equal(queued.length, 1);
    assert.equal(queued[0].kind, 'report');
    await page.screenshot({ path: join(artifacts, 'worker-report-offline.png') });
    await page.context().setOffline(false);
    const answer = await until('the report sent', async () => (await page.evaluate(() => window.gridwatch.reports))[0], 20_000, 200);
    allowOffline(false);
    const c = (await api(`/api/v1/orders/${answer.case_id}`)).json;
    assert.equal(c.properties.proactive, true);
    const src = c.properties.sources.find((s) => s.id === answer.source_id);
    assert.equal(src.kind, 'patrol');
    assert.ok(Math.abs(src.lon - picked.lon) < 1e-6 && Math.abs(src.lat - picked.lat) < 1e-6, JSON.stringify([src.lon, src.lat, picked]));
    assert.equal(src.evidence.worker, 'w-xizhimen');
    assert.equal(src.evidence.photos.length, 1);
    assert.equal((await fetch(base + src.evidence.photos[0])).status, 200);
    const map = await newPage('desk', `/?lang=en#token=${DISPATCHER}`);
    await map.waitForFunction((i) => window.gridwatch && window.gridwatch.loadedAt && window.gridwatch.hasCase(i), answer.case_id, { timeout: 15_000 });
    const onMap = await map.evaluate((i) => window.gridwatch.cases().find((f) => f.id === i).properties, answer.case_id);
    assert.equal(onMap.proactive, true);
    assert.equal(onMap.source, 'patrol');
    // The patrol layers: the workers, today's tracks (the demo's round) and the cells still to walk.
    await until('the patrol layers', () => map.evaluate(() => window.gridwatch.patrol().loadedAt > 0), 15_000);
    const patrol = await map.evaluate(() => window.gridwatch.patrol());
    assert.ok(patrol.workers.features.length >= 2, JSON.stringify(patrol.workers));
    assert.ok(patrol.tracks.features.length >= 1, 'a track of the demo\'s round');
    assert.ok(patrol.cells.features.length >= 1, 'cells not yet visited');
    assert.ok(patrol.coverage.some((g) => g.visited > 0), JSON.stringify(patrol.coverage));
    await map.screenshot({ path: join(artifacts, 'center-patrol-desk.png') });
    await map.context().close();
    await page.context().close();
  });

  it('a second worker verifies a fix with a photo and it closes; a refusal re-opens one; the resolver may not verify', async () => {
    // Worker 1 resolved the manhole cover (above); the blocked fire lane too, now.
    const lane = (await api('/api/v1/orders?status=open', { token: WORKER })).json.features
      .find((f) => f.properties.category === 'fire.blocked_lane' && ['accepted', 'in_progress'].includes(f.properties.state));
    assert.ok(lane, 'the fire lane case accepted offline above');
    const r = await api(`/api/v1/orders/${lane.id}/actions`, { token: WORKER, method: 'POST', body: { action: 'resolve', reason: 'van moved' } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.state, 'verifying');
    // The resolver may not verify their own work: 403 with the reason, and no button on their phone.
    const own = await api(`/api/v1/orders/${lane.id}/actions`, { token: WORKER, method: 'POST', body: { action: 'verify', photo_url: 'https://example.org/x.jpg' } });
    assert.equal(own.status, 403);
    assert.match(own.json.error, /w-xizhimen resolved case ".*" and may not verify their own work/);
    const mine = await newPage('phone', `/worker?lang=en#token=${WORKER}`, { geolocation: { longitude: inside.lon, latitude: inside.lat } });
    await mine.waitForSelector(`article[data-id="${lane.id}"]`, { timeout: 15_000 });
    assert.equal(await mine.locator(`article[data-id="${lane.id}"] button[data-action="verify"]`).count(), 0);
    await mine.context().close();

    const page = await newPage('phone', `/worker?lang=en#token=${WORKER2}`, { geolocation: { longitude: inside.lon, latitude: inside.lat } });
    const manhole = (await api('/api/v1/orders?status=open&state=verifying', { token: WORKER2 })).json.features
      .find((f) => f.properties.category === 'utilities.manhole_cover');
    assert.ok(manhole, 'the manhole cover waits for its verification');
    const card = page.locator(`article[data-id="${manhole.id}"]`);
    await card.waitFor({ timeout: 15_000 });
    await card.locator('button[data-action="verify"]').click();
    const photo = await page.screenshot({ type: 'jpeg', quality: 60 });
    await card.locator('.verify-form input[name="photo"]').setInputFiles({ name: 'fixed.jpg', mimeType: 'image/jpeg', buffer: photo });
    await card.locator('.verify-form button[type="submit"]').click();
    const closed = await until('closed', async () => {
      const c = (await api(`/api/v1/orders/${manhole.id}`)).json;
      return c.properties.state === 'closed' && c;
    }, 15_000);
    const step = closed.properties.history.filter((h) => h.action === 'verify').at(-1);
    assert.equal(step.actor, 'w-xizhimen-2');
    assert.equal((await fetch(base + step.detail.photo_url)).status, 200);

    const laneCard = page.locator(`article[data-id="${lane.id}"]`);
    await laneCard.waitFor({ timeout: 15_000 });
    await laneCard.locator('button[data-action="refuse"]').click();
    await laneCard.locator('.refuse-form textarea[name="note"]').fill('the van is back in the lane');
    await page.screenshot({ path: join(artifacts, 'worker-verify-phone.png') });
    await laneCard.locator('.refuse-form button[type="submit"]').click();
    // On a timeout, what the phone holds says why: the step still queued (no answer, or a 5xx: it
    // retries every 10 s) or refused by the center (its message in the errors).
    const reopened = await until('reopened', async () => {
      const c = (await api(`/api/v1/orders/${lane.id}`)).json;
      return c.properties.state === 'reopened' && c;
    }, 15_000).catch(async (e) => {
      const phone = await page.evaluate(() => ({ queued: window.gridwatch.queued().map((i) => [i.action || i.kind, i.case_id, i.queued_at]), errors: window.gridwatch.errors }));
      throw new Error(`${e.message}; the phone: ${JSON.stringify(phone)}`);
    });
    assert.equal(reopened.properties.history.filter((h) => h.action === 'refuse').at(-1).detail.reason, 'the van is back in the lane');
    await page.context().close();
  });
});

describe('scan to report', () => {
  it('submits a ticket for the building that then appears on the map', async () => {
    const page = await newPage('phone', '/report?b=XC-0002&lang=en');
    await page.waitForSelector('#building');
    assert.match(await page.locator('#building').textContent(), /金融街7号楼/);
    await page.selectOption('select[name="service_code"]', 'utilities.heating');
    await page.fill('textarea[name="description"]', 'the radiators in unit 3 are cold');
    const photo = await page.screenshot({ type: 'jpeg', quality: 60 });
    await page.setInputFiles('input[name="photo"]', { name: 'cold.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.click('#report button[type="submit"]');
    const rid = (await page.locator('#request-id').textContent({ timeout: 10_000 })).trim();
    const ticketView = (await api(`/open311/v2/requests/${rid}.json`, { token: null })).json[0];
    assert.equal(ticketView.service_code, 'utilities.heating');
    assert.ok(ticketView.media_url && ticketView.media_url.includes('/media/'));
    assert.equal((await fetch(ticketView.media_url)).status, 200);
    const caseId = (await api(`/api/v1/orders/${rid}`)).json.id;
    const sources = (await api(`/api/v1/orders/${caseId}`)).json.properties.sources;
    assert.ok(sources.some((s) => s.attributes && s.attributes.building === 'XC-0002'), JSON.stringify(sources.map((s) => s.attributes)));
    await page.click('#mine button.check');
    await until('the state shown', async () => /open/.test(await page.locator('#mine .card .muted').first().textContent()), 15_000);
    await page.screenshot({ path: join(artifacts, 'report-phone.png') });
    const map = await newPage('desk', `/?lang=en#token=${DISPATCHER}`);
    await map.waitForFunction((i) => window.gridwatch && window.gridwatch.loadedAt && window.gridwatch.hasCase(i), caseId, { timeout: 15_000 });
    await map.context().close();
    for (const size of ['wall', 'desk']) {
      const p = await newPage(size, '/report?b=XC-0002&lang=zh');
      await p.waitForSelector('#building');
      await p.screenshot({ path: join(artifacts, `report-${size}.png`) });
      await p.context().close();
    }
    for (const size of ['wall', 'desk']) {
      const p = await newPage(size, `/worker?lang=zh#token=${WORKER}`);
      await p.waitForSelector('#cases');
      await p.screenshot({ path: join(artifacts, `worker-${size}.png`) });
      await p.context().close();
    }
  });
});
