// A closed month as its owner sees it: the statements list, the statement (also as printed), and
// its CSV downloaded by Chromium (which asks for gzip and br) and parsed whole. Run hydrated and
// with JavaScript off, each on its own org.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'child_process';
import { login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', admin: 'admin@acme.test' },
  'no-js': { slug: 'globex', admin: 'admin@globex.test' },
};

/** Runs SQL against the suite's database (scripts/e2e.sh exports DATABASE_URL). */
function sql(script: string) {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the suite with scripts/e2e.sh (make e2e)');
  execFileSync('psql', [url, '-qtAX', '-v', 'ON_ERROR_STOP=1'], { input: script, stdio: ['pipe', 'ignore', 'inherit'] });
}

/** Fields of one CSV line without quotes (the statement's cells hold no commas). */
function rows(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.replace(/\r$/, '').split(','));
}

test('a closed month is a statement to read, print and download', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  // The org began last month (UTC), with a call and a text in it: last month is over, so the
  // statements worker closes it within a second or two.
  sql(`BEGIN;
    UPDATE orgs SET time_zone = 'UTC', created_at = date_trunc('month', now()) - interval '20 days',
                    closed_through = NULL
    WHERE slug = '${org.slug}';
    INSERT INTO calls (org_id, user_id, direction, from_e164, to_e164, status, duration_secs, cost_micros, created_at)
    SELECT o.id, u.id, 'outbound', '+14155550100', '+14155550101', 'completed', 75, 17000,
           date_trunc('month', now()) - interval '10 days'
    FROM orgs o, users u WHERE o.slug = '${org.slug}' AND u.email = '${org.admin}';
    INSERT INTO messages (org_id, user_id, direction, our_e164, other_e164, body, segments, encoding, status,
                          cost_micros, created_at)
    SELECT o.id, u.id, 'outbound', '+14155550100', '+14155550102', 'Hello', 1, 'gsm7', 'delivered', 7900,
           date_trunc('month', now()) - interval '9 days'
    FROM orgs o, users u WHERE o.slug = '${org.slug}' AND u.email = '${org.admin}';
    COMMIT;`);

  await login(page, info, org.admin);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  const view = page.getByRole('link', { name: /^View the statement for / });
  await expect(async () => {
    await page.goto(`/o/${org.slug}/statements`);
    await expect(view).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await ready(page, info);
  await expect(page.getByRole('heading', { name: "The org's statements" })).toBeVisible();
  await view.click();
  await ready(page, info);
  await expect(page.getByRole('heading', { name: /— statement for / })).toBeVisible();
  await expect(page.getByTestId('statement-who')).toHaveText('Whole org');
  await expect(page.getByTestId('line-calls')).toContainText('2 minutes');
  await expect(page.getByTestId('line-sms')).toContainText('1 segment');

  // Printed, the page is the statement alone.
  await page.emulateMedia({ media: 'print' });
  await expect(page.getByRole('link', { name: 'Download CSV' })).toBeHidden();
  await expect(page.getByRole('heading', { name: /— statement for / })).toBeVisible();
  await page.emulateMedia({ media: 'screen' });

  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download CSV' }).click(),
  ]);
  expect(await dl.failure()).toBeNull();
  expect(dl.suggestedFilename()).toMatch(new RegExp(`^statement-${org.slug}-\\d{4}-\\d{2}-org\\.csv$`));
  const text = require('fs').readFileSync(await dl.path(), 'utf8') as string;
  expect(text.endsWith('\n'), 'a complete file ends with a newline').toBe(true);
  const csv = rows(text);
  expect(csv[0]).toEqual(['section', 'category', 'item', 'when', 'count', 'usage', 'unit', 'amount_usd']);
  const total = csv.find((r) => r[0] === 'total');
  expect(total?.[7]).toBe('0.024900');
  const calls = csv.find((r) => r[0] === 'usage' && r[1] === 'calls');
  expect(calls?.[7]).toBe('0.017000');
});
