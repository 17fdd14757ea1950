// Lookups, run hydrated (Acme) and with JavaScript off (Globex): an admin points the org at the
// sandbox and tests it, a member looks a number up twice (the second is a free cache hit), the
// admin's cost page shows it; a bulk CSV runs to a downloadable result.
import { expect, test } from '@playwright/test';
import { login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', admin: 'admin@acme.test', member: 'user@acme.test', n: '0171' },
  'no-js': { slug: 'globex', admin: 'admin@globex.test', member: 'admin@acme.test', n: '0172' },
};

test('admin configures the sandbox, a member looks up twice, costs show 1 paid and 1 saved', async ({ browser }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  const adminCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  await login(admin, info, org.admin);
  await admin.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await admin.goto(`/o/${org.slug}/admin/phone-config`);
  await ready(admin, info);
  await expect(admin.getByTestId('effective')).toContainText('system default');
  await admin.getByLabel('Provider').selectOption('sandbox');
  await admin.getByLabel('Display name').fill('Our sandbox');
  await admin.getByLabel('Account SID').fill('AC00000000000000000000000000000001');
  // A mistake first: the message appears next to the field, nothing is saved.
  await admin.getByLabel('Lookup cache (days)').fill('400');
  await admin.getByLabel('Auth token', { exact: true }).fill('sandbox-auth-token-0001');
  await admin.getByRole('button', { name: 'Save configuration' }).click();
  await expect(admin.getByText('Enter a whole number of days from 1 to 365.')).toBeVisible();
  await ready(admin, info);
  await admin.getByLabel('Lookup cache (days)').fill('14');
  await admin.getByLabel('Auth token', { exact: true }).fill('sandbox-auth-token-0001');
  await admin.getByRole('button', { name: 'Save configuration' }).click();
  await expect(admin.getByRole('status')).toHaveText('Phone configuration saved.');
  await expect(admin.getByTestId('token-masked')).toHaveText('Stored (encrypted), ends in …0001');
  await expect(admin.getByTestId('effective')).toHaveText('Lookups in this org use this configuration.');
  expect(await admin.content()).not.toContain('sandbox-auth-token-0001');
  await ready(admin, info);
  await admin.getByRole('button', { name: 'Test connection' }).click();
  await expect(admin.getByRole('status')).toHaveText('Connection works: the provider accepted these credentials.');

  const memberCtx = await browser.newContext();
  const member = await memberCtx.newPage();
  await login(member, info, org.member);
  await member.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await member.goto(`/o/${org.slug}/lookup`);
  await ready(member, info);
  // Bad input: a message next to the field, no lookup.
  await member.getByLabel('Phone number').fill('call me maybe');
  await member.getByRole('button', { name: 'Look up' }).click();
  await expect(member.getByText('Phone numbers cannot contain letters.')).toBeVisible();
  await ready(member, info);
  await member.getByLabel('Phone number').fill(`(415) 555-${org.n}`);
  await member.getByRole('button', { name: 'Look up' }).click();
  await expect(member.getByTestId('freshness')).toHaveText('Fresh lookup from the provider');
  await expect(member.getByTestId('lookup-result')).toContainText(`+1415555${org.n}`);
  await expect(member.getByTestId('lookup-result')).toContainText('Line type');
  await ready(member, info);
  await member.getByLabel('Phone number').fill(`+1415555${org.n}`);
  await member.getByRole('button', { name: 'Look up' }).click();
  await expect(member.getByTestId('freshness')).toHaveText('Cached · expires in 14 days');
  await expect(member.getByRole('row').filter({ hasText: 'hit' })).toHaveCount(1);

  await admin.goto(`/o/${org.slug}/admin/lookups`);
  await ready(admin, info);
  const month = admin.getByRole('region', { name: 'This month' });
  const stat = (label: string) => month.locator('div.card').filter({ has: admin.getByText(label, { exact: true }) }).locator('dd');
  await expect(stat('Requests')).toHaveText('2');
  await expect(stat('Paid lookups')).toHaveText('1');
  await expect(stat('Cache hits')).toHaveText('1');
  await expect(stat('Spend')).toHaveText('$0.005');
  await expect(stat('Saved by the cache')).toHaveText('$0.005');
  await expect(admin.locator('.chart svg')).toBeVisible();
  await adminCtx.close();
  await memberCtx.close();
});

test('a bulk CSV runs with progress to a downloadable result', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.member);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await page.goto(`/o/${org.slug}/lookups/bulk`);
  await ready(page, info);
  // An empty file is refused next to the field.
  await page.getByLabel('CSV file').setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('') });
  await page.getByRole('button', { name: 'Upload and start' }).click();
  await expect(page.getByText('Choose a CSV file to upload.')).toBeVisible();
  await ready(page, info);
  const rows = ['phone', `+1415555${org.n}`, '(415) 555-0180', '+14155550180', 'nope'];
  await page.getByLabel('CSV file').setInputFiles({ name: 'numbers.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
  await page.getByRole('button', { name: 'Upload and start' }).click();
  await expect(page).toHaveURL(/\/lookups\/bulk\?job=\d+$/);
  // Live with JavaScript, by reloading itself without.
  await expect(page.getByTestId('current-job-progress')).toContainText('Done: 4 of 4 rows', { timeout: 30_000 });
  await expect(page.getByTestId('current-job-progress')).toContainText('1 with errors');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download results (CSV)' }).click(),
  ]);
  const path = await download.path();
  const text = require('fs').readFileSync(path, 'utf8') as string;
  const lines = text.trim().split('\n');
  expect(lines).toHaveLength(5);
  expect(lines[0]).toContain('row,input,e164,status,outcome');
  expect(lines[2]).toContain('+14155550180,done,');
  expect(lines[3]).toContain(',done,duplicate');
  expect(lines[4]).toContain('nope,,error');
});
