// Every CSV the app offers, downloaded by Chromium as a person does (it asks for gzip and br, which
// once cut the streamed call export short), then parsed: calls and usage here, bulk lookup results
// in lookups.spec.ts. Run hydrated and with JavaScript off.
import { test, expect, Page } from '@playwright/test';
import { login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', admin: 'admin@acme.test' },
  'no-js': { slug: 'globex', admin: 'admin@globex.test' },
};

/** A small RFC 4180 reader: rows of fields (quoted fields may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') {
      field += c;
    }
  }
  expect(quoted, 'the file ends inside a quoted field: it was cut short').toBe(false);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Clicks the link named `name` and returns the downloaded file parsed, with its suggested name. */
async function download(page: Page, name: string): Promise<{ file: string; rows: string[][] }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
  expect(await dl.failure()).toBeNull();
  const text = require('fs').readFileSync(await dl.path(), 'utf8') as string;
  expect(text.endsWith('\n'), 'a complete file ends with a newline').toBe(true);
  const rows = parseCsv(text);
  for (const r of rows) expect(r.length, JSON.stringify(r)).toBe(rows[0].length);
  return { file: dl.suggestedFilename(), rows };
}

test('the call history and usage CSVs download whole and parse', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.admin);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));

  await page.goto(`/o/${org.slug}/calls`);
  await ready(page, info);
  const calls = await download(page, 'Export CSV');
  expect(calls.file).toBe(`calls-${org.slug}.csv`);
  expect(calls.rows[0]).toEqual([
    'id', 'created_at', 'direction', 'from', 'to', 'status', 'duration_seconds', 'duration',
    'cost_usd', 'recordings', 'user',
  ]);

  await page.goto(`/o/${org.slug}/admin/usage`);
  await ready(page, info);
  const usage = await download(page, 'Export CSV');
  expect(usage.file).toMatch(new RegExp(`^usage-${org.slug}-\\d{4}-\\d{2}-\\d{2}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
  expect(usage.rows[0]).toEqual(['day', 'category', 'user', 'number', 'quantity', 'amount_usd']);
});
