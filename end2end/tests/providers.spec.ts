// An org's own country, webhook signing keys and the AWS fields, hydrated and with JavaScript off.
// The superadmin creates a fresh org per run (so no other spec's org changes country), sets it to
// the UK, looks a London number up as it is written there, and sees the number search start in GB;
// on its phone config a signing key is refused once, then added, listed masked and removed; an AWS
// region typed wrong is refused on its field and nothing is saved.
import { expect, test } from '@playwright/test';
import { login, ready } from './helpers';

test('a British org reads national numbers as British; signing keys and AWS fields are checked', async ({ page }, info) => {
  const slug = `uk-${info.project.name}`;
  await login(page, info, 'root@phonehub.test');
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await page.goto('/admin/orgs');
  await ready(page, info);
  await page.getByLabel('Name', { exact: true }).fill(`British ${info.project.name}`);
  await page.getByLabel('URL name').fill(slug);
  await page.getByLabel("Owner's e-mail").fill('admin@globex.test');
  await page.getByRole('button', { name: 'Create org' }).click();
  await expect(page.getByRole('status')).toHaveText('Org created.');

  // The country: US until an owner (here the superadmin) chooses another.
  await page.goto(`/o/${slug}`);
  await ready(page, info);
  await expect(page.getByTestId('org-country')).toContainText('(US)');
  await page.getByLabel('Change the country').selectOption('GB');
  await page.getByRole('button', { name: 'Save country' }).click();
  await expect(page.getByRole('status')).toContainText('Country saved');
  await expect(page.getByTestId('org-country')).toContainText('United Kingdom (GB)');

  // A London number typed as Londoners write it.
  await page.goto(`/o/${slug}/lookup`);
  await ready(page, info);
  await page.getByLabel('Phone number').fill('020 7183 8750');
  await page.getByRole('button', { name: 'Look up' }).click();
  await expect(page.getByTestId('lookup-result')).toContainText('+442071838750');
  await expect(page.getByTestId('lookup-result')).toContainText('020 7183 8750');

  // The number search starts in the UK.
  await page.goto(`/o/${slug}/numbers/buy`);
  await ready(page, info);
  await expect(page.getByLabel('Country')).toHaveValue('GB');

  // The phone config: a sandbox configuration of its own, then its signing keys.
  await page.goto(`/o/${slug}/admin/phone-config`);
  await ready(page, info);
  await page.getByLabel('Provider').selectOption('sandbox');
  await page.getByLabel('Display name').fill('British sandbox');
  await page.getByLabel('Account SID').fill('AC00000000000000000000000000000001');
  await page.getByLabel('Auth token', { exact: true }).fill('sandbox-auth-token-0001');
  await page.getByRole('button', { name: 'Save configuration' }).click();
  await expect(page.getByRole('status')).toHaveText('Phone configuration saved.');
  await ready(page, info);
  const keys = page.getByTestId('signing-keys');
  await expect(keys).toContainText('No signing keys');
  await keys.getByLabel('Key id').fill('not a key id!');
  await keys.getByLabel('Key secret').fill('whsk_secret_c2hhcmVkLWtleS0wMDE');
  await keys.getByRole('button', { name: 'Add signing key' }).click();
  await expect(page.getByText('A key id is at most 100 letters, digits, underscores or hyphens.')).toBeVisible();
  await ready(page, info);
  await page.getByTestId('signing-keys').getByLabel('Key id').fill('webhooks_sharedkey_0001');
  await page.getByTestId('signing-keys').getByLabel('Key secret').fill('whsk_secret_c2hhcmVkLWtleS0wMDE');
  await page.getByTestId('signing-keys').getByRole('button', { name: 'Add signing key' }).click();
  await expect(page.getByRole('status')).toContainText('Signing key added');
  const row = page.getByTestId('signing-keys').getByRole('row').filter({ hasText: 'webhooks_sharedkey_0001' });
  await expect(row).toContainText('…');
  await expect(row).toContainText('never');
  expect(await page.content()).not.toContain('whsk_secret_c2hhcmVkLWtleS0wMDE');
  await ready(page, info);
  await row.getByRole('button', { name: 'Remove webhooks_sharedkey_0001' }).click();
  await expect(page.getByRole('status')).toContainText('Signing key removed');
  await expect(page.getByTestId('signing-keys')).toContainText('No signing keys');

  // AWS: a region typed wrong is refused next to its field; the sandbox configuration stays.
  await ready(page, info);
  await page.getByLabel('Provider').selectOption('aws');
  await page.getByLabel('AWS region').fill('mars-1');
  await page.getByLabel('Account SID').fill('AKIASANDBOX000000001');
  await page.getByLabel('Replace auth token').fill('sandboxSecretAccessKey/PhoneHub/0000001');
  await page.getByRole('button', { name: 'Save configuration' }).click();
  await expect(page.getByText('An AWS region looks like us-east-1 or eu-west-2.')).toBeVisible();
  await page.goto(`/o/${slug}/admin/phone-config`);
  await ready(page, info);
  await expect(page.getByLabel('Provider')).toHaveValue('sandbox');
});
