// The console in a real browser (Debian's Chromium through Playwright) against a demo testnet
// that `cli/tests/it/console.rs` starts: a regulator logs in with its key, opens every page,
// every chart draws its series, a recalled code's flow shows the recalled quantity, a licence's
// history opens from the explorer, no page logs an error; a logged-out request is refused and a
// department's session does not see the cold chain. Screenshots at desk and phone widths go to
// $XINLIAN_SCREENSHOTS.
//
// Environment: XINLIAN_CONSOLE_URL (a node's base URL), XINLIAN_REGULATOR_KEY and
// XINLIAN_DEPARTMENT_KEY (PEM files), XINLIAN_RECALLED_CODE, XINLIAN_LICENCE_ID,
// XINLIAN_SCREENSHOTS, CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (cli/tests/it/console.rs sets it)`);
  return value;
};
const base = env('XINLIAN_CONSOLE_URL');
const shots = env('XINLIAN_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

// Each page, and the series each of its charts must draw (a subset: the demo decides the rest).
const PAGES = {
  overview: {
    'chart-days': ['冷链追溯', '电子证照', '授权办事'],
    'chart-today': ['今日交易'],
    'chart-live': ['提交延迟', '交易数'],
  },
  coldchain: {
    'chart-commissioned': ['120116'],
    'chart-moves': ['出库', '入库', '销售'],
    'chart-kinds': ['按企业类型'],
    'chart-packages': ['进口商/首站'],
  },
  licences: {
    'chart-issued': ['食品经营许可证'],
    'chart-states': ['有效', '吊销', '暂扣', '已过期'],
    'chart-verifications': ['窗口页面', '接口核验'],
    'chart-verdicts': ['核验结果'],
    'chart-windows': ['郑州市民之家 3 号窗口', '未注明窗口'],
  },
  auth: {
    'chart-grants': ['授权'],
    'chart-uses': ['郑州市市场监督管理局'],
    'chart-matters': ['按事项'],
    'chart-refused': [],
  },
  explorer: {},
};

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});
after(async () => browser?.close());

/** A page that records every console error and uncaught exception. */
async function open(viewport) {
  // Reduced motion: the charts draw at once, so a screenshot shows them whole.
  const context = await browser.newContext({
    viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(e.stack ?? String(e)));
  return { context, page, errors };
}

async function login(page, keyFile) {
  await page.goto(`${base}/console/`);
  await page.waitForSelector('#login-form', { timeout: 60_000 });
  await page.fill('#key', readFileSync(keyFile, 'utf8'));
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#member', { timeout: 60_000 });
}

async function visit(page, name) {
  await page.goto(`${base}/console/#/${name}`);
  await page.waitForSelector(`main[data-ready="${name}"]`, { timeout: 60_000 });
}

/** Whether a chart's canvas has any painted pixel. */
async function painted(page, id) {
  return page.$eval(`#${id} canvas`, (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  });
}

test('a logged-out request for a regulator view is refused', async () => {
  for (const path of ['/v1/console/coldchain', '/v1/console/overview', '/v1/console/lots/0000000000000000/flow']) {
    const response = await fetch(`${base}${path}`);
    assert.equal(response.status, 401, path);
    assert.equal((await response.json()).error.code, 'login_required');
  }
  const forged = await fetch(`${base}/v1/console/coldchain`, { headers: { Cookie: 'xinlian_console=' + 'ab'.repeat(32) } });
  assert.equal(forged.status, 401);
  // A window's label is bounded, as every input is.
  const long = await fetch(`${base}/v1/licences/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: env('XINLIAN_LICENCE_ID'), window: '窗'.repeat(65) }),
  });
  assert.equal(long.status, 400);
  assert.equal((await long.json()).error.code, 'invalid_window');
});

test('a regulator sees every page drawn, a recalled flow and a licence history, at desk and phone widths', async () => {
  // One verification through the window page, so the verification chart has a day to draw.
  const licence = env('XINLIAN_LICENCE_ID');
  assert.equal((await fetch(`${base}/verify/${licence}`)).status, 200);

  for (const [width, viewport] of [['desk', { width: 1440, height: 1000 }], ['phone', { width: 390, height: 844 }]]) {
    const { context, page, errors } = await open(viewport);
    await login(page, env('XINLIAN_REGULATOR_KEY'));
    assert.match(await page.textContent('#member'), /监管视图/);
    for (const [name, charts] of Object.entries(PAGES)) {
      await visit(page, name);
      for (const [id, expected] of Object.entries(charts)) {
        const series = (await page.getAttribute(`#${id}`, 'data-series')).split('|').filter(Boolean);
        assert.ok(series.length > 0, `${name} ${id} has no series`);
        for (const want of expected) {
          assert.ok(series.includes(want), `${name} ${id}: ${want} not among ${series.join(', ')}`);
        }
        assert.ok(await painted(page, id), `${name} ${id} drew nothing`);
      }
      await page.screenshot({ path: `${shots}/${name}-${width}.png`, fullPage: true });
    }
    assert.ok((await page.$$('#blocks tbody tr')).length > 0, 'the explorer lists blocks');

    // Search a recalled code: its flow draws with the recalled part.
    await visit(page, 'coldchain');
    await page.selectOption('#search-by', 'code');
    await page.fill('#search-text', env('XINLIAN_RECALLED_CODE'));
    await page.click('#search button[type=submit]');
    await page.waitForSelector('#flow-card:not([hidden]) #chart-flow canvas', { timeout: 60_000 });
    assert.equal(await page.getAttribute('#chart-flow', 'data-series'), '流向');
    const recalled = Number(await page.getAttribute('#chart-flow', 'data-recalled'));
    assert.ok(recalled > 0, `the flow shows the recalled quantity (${recalled})`);
    assert.match(await page.textContent('#flow-recalled'), new RegExp(`召回部分流转 ${recalled}`));
    assert.match(await page.textContent('#code-result'), /已召回/);
    assert.ok(await painted(page, 'chart-flow'));
    await page.screenshot({ path: `${shots}/recall-flow-${width}.png`, fullPage: true });

    // From the explorer to a licence's history.
    await visit(page, 'explorer');
    await page.fill('#query', licence);
    await page.click('#explore button[type=submit]');
    await page.waitForSelector('#licence-history tbody tr', { timeout: 60_000 });
    assert.match(await page.textContent('#licence-history'), /签发/);
    await page.screenshot({ path: `${shots}/licence-history-${width}.png`, fullPage: true });

    assert.deepEqual(errors, [], `console errors at ${width} width`);
    await context.close();
  }
});

test('a department logs in to its own view, without the cold chain', async () => {
  const { context, page, errors } = await open({ width: 1440, height: 1000 });
  await login(page, env('XINLIAN_DEPARTMENT_KEY'));
  assert.match(await page.textContent('#member'), /部门视图/);
  assert.equal(await page.isHidden('#nav a[data-page=coldchain]'), true);
  const refused = await page.evaluate(async () => (await fetch('/v1/console/coldchain')).status);
  assert.equal(refused, 403);
  await visit(page, 'licences');
  await page.click('#logout');
  await page.waitForSelector('#login-form', { timeout: 60_000 });
  const after = await page.evaluate(async () => (await fetch('/v1/console/overview')).status);
  assert.equal(after, 401, 'logged out means logged out');
  assert.deepEqual(errors.filter((e) => !e.includes('403') && !e.includes('401')), []);
  await context.close();
});
