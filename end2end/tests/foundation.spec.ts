// The foundation flows, run hydrated and with JavaScript off.
import { expect, test } from '@playwright/test';
import { jsOn, login, ready } from './helpers';

test('log in, see the dashboard, invite a member, switch org, log out', async ({ page }, info) => {
  await login(page, info, 'admin@acme.test');
  await expect(page).toHaveURL(/\/o\/acme$/);
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Acme Corp' })).toBeVisible();
  await expect(page.getByText('Your access: Owner')).toBeVisible();

  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await expect(page).toHaveURL(/\/o\/acme\/members/);
  await ready(page, info);
  const email = `new-${info.project.name}@acme.test`;
  // A mistake first: the message appears next to the field and nothing is added.
  await page.getByLabel('E-mail').fill(email);
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByText('Set an initial password')).toBeVisible();
  await ready(page, info);
  const addForm = page.getByRole('region', { name: 'Add a member' });
  await addForm.getByLabel('E-mail').fill(email);
  await addForm.getByLabel('Role').selectOption('admin');
  await addForm.getByLabel('Name (new accounts)').fill('New Person');
  await addForm.getByLabel('Initial password').fill('a good long password');
  await addForm.getByRole('button', { name: 'Add member' }).click();
  // An invitation, listed by e-mail: a member only once they accept it (invitations.spec.ts).
  await expect(page.getByRole('status')).toHaveText('Invitation sent: they become a member once they accept it.');
  const row = page.getByRole('region', { name: 'Invitations' }).getByRole('row').filter({ hasText: email });
  await expect(row.getByRole('cell').nth(1)).toHaveText('Admin');
  await expect(row.getByRole('cell').nth(2)).toContainText('Pending · expires');
  await expect(page.getByText('New Person')).toHaveCount(0);

  // Ada is in Acme and Globex: the switcher takes her across.
  await ready(page, info);
  await page.getByLabel('Main').locator('summary').click();
  await page.getByRole('link', { name: 'Globex' }).click();
  await expect(page).toHaveURL(/\/o\/globex$/);
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Globex' })).toBeVisible();
  await expect(page.getByText('Your access: Member')).toBeVisible();

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/o/acme');
  await expect(page).toHaveURL(/\/login\?next=%2Fo%2Facme$/);
});

test('a wrong password shows an error next to the field', async ({ page }, info) => {
  await login(page, info, 'user@acme.test', 'not my password');
  await expect(page.getByText('Wrong e-mail or password.')).toBeVisible();
  await expect(page).toHaveURL(jsOn(info) ? /\/login$/ : /\/api\/login$/);
  await expect(page.getByLabel('E-mail')).toHaveValue('user@acme.test');
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
});

test('support staff see Globex read-only', async ({ page }, info) => {
  await login(page, info, 'support@phonehub.test');
  await expect(page.getByRole('heading', { name: 'Support: choose an org to inspect' })).toBeVisible();
  await page.getByRole('link', { name: 'Globex' }).first().click();
  await ready(page, info);
  await expect(page.getByText('Your access: Support (read-only)')).toBeVisible();
  await expect(page.getByRole('note')).toContainText('read-only');
  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await expect(page.getByRole('row').filter({ hasText: 'admin@globex.test' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add member' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Remove/ })).toHaveCount(0);
});
