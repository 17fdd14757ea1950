// SMS and the support console, run hydrated (Acme) and with JavaScript off (Globex): buy an SMS
// number, send a message (an empty one first), watch it get delivered and get a reply (played by
// the sandbox); support staff open the org's usage from the console, read-only.
import { expect, test } from '@playwright/test';
import { jsOn, login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', name: 'Acme Corp', user: 'user@acme.test' },
  'no-js': { slug: 'globex', name: 'Globex', user: 'admin@globex.test' },
};

test('send an SMS, see it delivered and get a reply', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.user);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await page.goto(`/o/${org.slug}/numbers/buy?search=1&country=US&number_type=local&area_code=646&sms=1`);
  await ready(page, info);
  const buy = page.getByRole('link', { name: /^Buy \+1646/ }).first();
  const number = ((await buy.getAttribute('aria-label')) ?? '').replace('Buy ', '');
  await buy.click();
  await ready(page, info);
  await page.getByRole('region', { name: 'Confirm purchase' }).getByRole('button', { name: /Buy for/ }).click();
  await expect(page.getByRole('status')).toHaveText('Number bought. It is yours until you release it.');

  await page.goto(`/o/${org.slug}/sms`);
  await ready(page, info);
  const form = page.getByRole('form', { name: 'Send SMS' });
  await form.getByLabel('From').selectOption(number);
  await form.getByLabel('To').fill('+1 212 555 0163');
  await form.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByText('Write a message.')).toBeVisible();
  await ready(page, info);
  const again = page.getByRole('form', { name: 'Send SMS' });
  await again.getByLabel('From').selectOption(number);
  await again.getByLabel('To').fill('+1 212 555 0163');
  await again.getByLabel('Message').fill('Your order has shipped.');
  if (jsOn(info)) {
    await expect(page.getByTestId('segments')).toContainText('1 segment · GSM-7 · 23 of 160 characters');
  }
  await again.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByText('Message sent.')).toBeVisible();
  const message = page.getByTestId('message').last();
  await expect(message).toContainText('Your order has shipped.');
  // Delivery arrives by callback: the page polls with JavaScript; without, reload until it shows.
  const status = page.getByTestId('message-status').last();
  if (!jsOn(info)) {
    await expect(async () => {
      await page.reload();
      await expect(status).toHaveText('Delivered', { timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
  }
  await expect(status).toHaveText('Delivered');
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toContainText('(212) 555-0163');

  // The other party answers (the sandbox plays them): the reply lands in the same conversation.
  await page.goto(`/o/${org.slug}/numbers`);
  await ready(page, info);
  await page.getByTestId(`number-${number}`).getByRole('link', { name: number }).click();
  await ready(page, info);
  const sim = page.getByRole('form', { name: 'Simulate inbound' });
  await sim.getByLabel('From').fill('+1 212 555 0163');
  await sim.getByLabel('SMS text').fill('Thanks, got it!');
  await sim.getByRole('button', { name: 'Simulate an incoming SMS' }).click();
  await expect(page.getByText('The sandbox sent your number an SMS')).toBeVisible();
  await expect(page.getByTestId('message').last()).toContainText('Thanks, got it!');
  await expect(page.getByTestId('message-status').last()).toHaveText('Received');
});

test('support staff open an org usage page from the console, read-only', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, 'support@phonehub.test');
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await page.goto('/staff');
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Support console' })).toBeVisible();
  await page.getByRole('link', { name: org.name, exact: true }).click();
  await ready(page, info);
  await expect(page.getByRole('heading', { name: org.name, exact: true })).toBeVisible();
  await expect(page.getByText('Support view: read-only.')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Phone configuration' })).toContainText('…0001');
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Usage and spend' })).toBeVisible();
  await expect(page.getByTestId('spend-sms')).toBeVisible();
  await expect(page.getByText('Support view: read-only.')).toBeVisible();
  // No control that changes anything: the only forms are filters.
  await expect(page.locator('form[method=post], form:not([method])')).toHaveCount(1); // the nav's log-out
  await page.goto('/staff/audit?action=staff.viewed');
  await ready(page, info);
  await expect(page.getByRole('table')).toContainText('support@phonehub.test');
});
