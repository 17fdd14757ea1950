// API keys, hydrated (Acme) and with JavaScript off (Globex): a key without a scope is refused next
// to the field; a key is created and shown once, works against /v1, is listed by its prefix only,
// and stops working the moment it is revoked.
import { expect, test } from '@playwright/test';
import { login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', owner: 'admin@acme.test' },
  'no-js': { slug: 'globex', owner: 'admin@globex.test' },
};

test('create an API key, use it, see it listed by prefix, revoke it', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.owner);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await page.goto(`/o/${org.slug}/admin/api-keys`);
  await ready(page, info);
  await expect(page.getByRole('heading', { name: /API keys of/ })).toBeVisible();
  await expect(page.getByText('No API keys yet.')).toBeVisible();

  // No scope ticked: the message sits by the scopes, nothing is created.
  await page.getByLabel('Name').fill('CRM sync');
  await page.getByLabel(/^lookups/).uncheck();
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByText('Tick at least one thing the key may do.')).toBeVisible();
  await ready(page, info);

  await page.getByLabel('Name').fill('CRM sync');
  await page.getByLabel(/^lookups/).check();
  await page.getByLabel(/^messages/).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByLabel('Your API key');
  await expect(shown).toHaveValue(/^phk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const key = await shown.inputValue();
  await expect(page.getByText('cannot show it again')).toBeVisible();

  // The key works (reading messages: a lookup here would change the org's lookup figures, which
  // the lookups spec counts).
  const api = await page.request.get('/v1/messages', {
    headers: { Authorization: `Bearer ${key}` },
  });
  expect(api.status()).toBe(200);
  expect(Array.isArray((await api.json()).data)).toBe(true);

  // Back on the page: listed by its prefix; the secret is nowhere.
  await page.goto(`/o/${org.slug}/admin/api-keys`);
  await ready(page, info);
  const row = page.getByRole('row', { name: /CRM sync/ });
  await expect(row).toContainText(key.slice(0, 16));
  await expect(row).toContainText('lookups, messages');
  expect(await page.content()).not.toContain(key.slice(17));

  await row.getByRole('button', { name: 'Revoke CRM sync' }).click();
  await expect(page.getByRole('status')).toHaveText('API key revoked: requests with it are refused from now on.');
  await expect(page.getByRole('row', { name: /CRM sync/ })).toContainText('Revoked');
  const refused = await page.request.get('/v1/messages', {
    headers: { Authorization: `Bearer ${key}` },
  });
  expect(refused.status()).toBe(401);
  expect(refused.headers()['content-type']).toBe('application/problem+json');
});
