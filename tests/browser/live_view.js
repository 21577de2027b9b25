// Drives Debian's Chromium through playwright-core for tests/tests/ui.rs: opens kart's ui
// before a run starts, waits (without reloading) until the page shows the run's workers alive
// and then its end, checks that a task parameter with markup shows as text and never runs,
// opens a run's graph and a range's calendar, and saves screenshots. Prints one line per step; the Rust test reads them.
//
//   node live_view.js PLAYWRIGHT_DIR URL SCREENSHOT_DIR EVIL_TASK_ID

const [dir, url, shots, evilTask] = process.argv.slice(2);
const { chromium } = require(`${dir}/node_modules/playwright-core`);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.KART_CHROMIUM || '/usr/bin/chromium',
    // This machine's network is closed: no background traffic, no sandbox as root.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const main = () => page.evaluate(() => document.querySelector('main').textContent);
    const waitFor = (text, timeout) => page.waitForFunction(
      (t) => t.every((s) => document.querySelector('main').textContent.includes(s)),
      text, { timeout, polling: 100 });

    await page.goto(url);
    console.log(`loaded ${JSON.stringify((await main()).match(/Workers alive \(\d+\)/)[0])}`);
    // The Sleepy family's complete count, as the page shows it now.
    const sleepyComplete = () => page.evaluate(() => [...document.querySelectorAll('#families tr')]
      .find((r) => r.querySelector('a')?.textContent === 'Sleepy')?.querySelectorAll('td')[1]?.textContent);
    await waitFor(['Workers alive (2)'], 60000);
    console.log(`live: Workers alive (2), Sleepy complete ${await sleepyComplete()}`);
    await page.screenshot({ path: `${shots}/ui-live.png`, fullPage: true });
    await waitFor(['Workers alive (0)', 'succeeded'], 120000);
    console.log(`ended: Workers alive (0), Sleepy complete ${await sleepyComplete()}`);
    await page.screenshot({ path: `${shots}/ui-runs.png`, fullPage: true });

    await page.goto(`${url}task/${evilTask}`);
    const xss = await page.evaluate(() => window.kartXss);
    const shown = await page.evaluate(() => document.querySelector('#task').textContent);
    console.log(`task: xss=${xss === undefined ? 'none' : xss} text=${JSON.stringify(shown)}`);
    await page.screenshot({ path: `${shots}/ui-task.png`, fullPage: true });

    // The graph of the run that failed a task, reached from the runs table.
    await page.goto(url);
    const run = await page.evaluate(() => [...document.querySelectorAll('#runs tr')]
      .find((r) => r.textContent.includes('Mixed('))?.querySelector('a')?.getAttribute('href'));
    await page.goto(`${url}${run.slice(1)}`);
    const boxes = await page.evaluate(() => [...document.querySelectorAll('#graph g.family')]
      .map((g) => `${g.dataset.family}:${g.querySelector('rect').getAttribute('class')}`).join(' '));
    console.log(`graph: ${boxes}`);
    await page.screenshot({ path: `${shots}/ui-graph.png`, fullPage: true });

    await page.goto(`${url}calendar/Daily`);
    const days = await page.evaluate(() => ['complete', 'missing']
      .map((s) => `${s}=${document.querySelectorAll(`td.day.${s}`).length}`).join(' '));
    console.log(`calendar: ${days}`);
    await page.screenshot({ path: `${shots}/ui-calendar.png`, fullPage: true });
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.log(`error: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
