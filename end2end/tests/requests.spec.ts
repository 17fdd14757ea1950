// Requests by number, run hydrated (Acme) and with JavaScript off (Globex): the admin opens the
// page from the org's dashboard, searches something that is not a number (refused next to the
// field) and a number nobody used (nothing held); texts a number from the SMS page, finds the
// text under that number, downloads everything as a ZIP, and erases the number (a confirmation
// that does not match first: refused next to it, nothing erased).
import { expect, Page, test, TestInfo } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { jsOn, login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', name: 'Acme Corp', admin: 'admin@acme.test' },
  'no-js': { slug: 'globex', name: 'Globex', admin: 'admin@globex.test' },
};

/** The person who asks: the org texts them below. */
const THEM = '+12125550177';
/** A number no spec calls, texts or looks up. */
const NOBODY = '+14155550188';

/** Searches `number` with the page's GET form and waits for the answer. */
async function find(page: Page, info: TestInfo, slug: string, number: string) {
  const search = page.getByRole('search', { name: 'Find a number' });
  await search.getByLabel('Phone number').fill(number);
  await search.getByRole('button', { name: 'Find' }).click();
  await page.waitForURL((u) => u.pathname === `/o/${slug}/admin/requests` && u.searchParams.get('number') === number);
  await ready(page, info);
}

/** Buys an SMS number in area code 718 (as sms.spec.ts does) and answers it. */
async function buyNumber(page: Page, info: TestInfo, slug: string): Promise<string> {
  await page.goto(`/o/${slug}/numbers/buy?search=1&country=US&number_type=local&area_code=718&sms=1`);
  await ready(page, info);
  const buy = page.getByRole('link', { name: /^Buy \+1718/ }).first();
  const number = ((await buy.getAttribute('aria-label')) ?? '').replace('Buy ', '');
  await buy.click();
  await ready(page, info);
  await page.getByRole('region', { name: 'Confirm purchase' }).getByRole('button', { name: /Buy for/ }).click();
  await expect(page.getByRole('status')).toHaveText('Number bought. It is yours until you release it.');
  return number;
}

/** Texts `to` from `from` on the SMS page and waits until it is delivered. */
async function text(page: Page, info: TestInfo, slug: string, from: string, to: string, body: string) {
  await page.goto(`/o/${slug}/sms`);
  await ready(page, info);
  const form = page.getByRole('form', { name: 'Send SMS' });
  await form.getByLabel('From').selectOption(from);
  await form.getByLabel('To').fill(to);
  await form.getByLabel('Message').fill(body);
  await form.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByText('Message sent.')).toBeVisible();
  await expect(page.getByTestId('message').last()).toContainText(body);
  // Delivery arrives by callback: the page polls with JavaScript; without, reload until it shows.
  const status = page.getByTestId('message-status').last();
  if (!jsOn(info)) {
    await expect(async () => {
      await page.reload();
      await expect(status).toHaveText('Delivered', { timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
  }
  await expect(status).toHaveText('Delivered');
}

test('the admin finds what the org holds about a number, exports it and erases it', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.admin);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));

  // The org's dashboard links to the page.
  await page.goto(`/o/${org.slug}`);
  await ready(page, info);
  await page.getByRole('link', { name: 'Requests by number →' }).click();
  await expect(page.getByRole('heading', { name: 'Requests by number', exact: true })).toBeVisible();
  await ready(page, info);

  // Something that is not a phone number: the server's reason, next to the field.
  await find(page, info, org.slug, '12');
  const field = page.getByRole('search', { name: 'Find a number' }).getByLabel('Phone number');
  await expect(page.locator('#find-number-error')).not.toBeEmpty();
  await expect(page.locator('#find-number-error')).toBeVisible();
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(field).toHaveValue('12');

  // A number nobody used: nothing held, nothing to export or erase.
  await find(page, info, org.slug, NOBODY);
  await expect(page.getByTestId('requests-nothing'))
    .toHaveText(`PhoneHub holds nothing about ${NOBODY} in ${org.name}.`);
  await expect(page.locator('#find-number-error')).toBeEmpty();
  await expect(page.getByRole('region', { name: 'Erase this number' })).toHaveCount(0);

  // The org texts them.
  const ours = await buyNumber(page, info, org.slug);
  await text(page, info, org.slug, ours, '+1 212 555 0177', 'Your code is 4411');

  // Their number: the one text, and nothing else.
  await page.goto(`/o/${org.slug}/admin/requests`);
  await ready(page, info);
  await find(page, info, org.slug, THEM);
  await expect(page.getByTestId('requests-messages')).toHaveText('1 message');
  await expect(page.getByTestId('requests-calls')).toHaveText('0 calls');
  await expect(page.getByTestId('requests-opt-out')).toHaveText('Not on the opt-out list');
  const row = page.getByTestId('requests-message');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(ours);
  await expect(page.getByTestId('requests-message-body')).toHaveText('Your code is 4411');

  // Everything, as one ZIP file.
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download everything (ZIP)' }).click(),
  ]);
  expect(await dl.failure()).toBeNull();
  expect(dl.suggestedFilename()).toMatch(/\.zip$/);
  const zip = await readFile(await dl.path());
  expect(zip.length).toBeGreaterThan(0);
  expect(zip.subarray(0, 2).toString('latin1'), 'a ZIP file starts with PK').toBe('PK');
  // Entry names are stored as they are, whatever the compression.
  expect(zip.includes('data.json')).toBe(true);
  expect(zip.includes('messages.csv')).toBe(true);

  // A confirmation that is not the same number: refused next to it, nothing erased.
  await ready(page, info);
  let erase = page.getByRole('region', { name: 'Erase this number' });
  await erase.getByLabel('Type the number again to confirm').fill('+12125550178');
  await erase.getByRole('button', { name: 'Erase everything about this number' }).click();
  await expect(page.locator('#erase-confirm-error')).not.toBeEmpty();
  await expect(page.locator('#erase-confirm-error')).toBeVisible();
  await expect(page.getByLabel('Type the number again to confirm')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('requests-messages')).toHaveText('1 message');
  await expect(page.getByTestId('requests-message-body')).toHaveText('Your code is 4411');

  // The same number (written another way): erased.
  await ready(page, info);
  erase = page.getByRole('region', { name: 'Erase this number' });
  await erase.getByLabel('Type the number again to confirm').fill('+1 212 555 0177');
  await erase.getByRole('button', { name: 'Erase everything about this number' }).click();
  await expect(page.getByRole('status')).toContainText('Erased:');
  await ready(page, info);
  // The text is gone: no message left under the number, or only redacted ones.
  await expect(page.getByText('Your code is 4411')).toHaveCount(0);
  await expect(page.getByTestId('requests-message-body').filter({ hasNotText: '(redacted)' })).toHaveCount(0);
  await expect(page.getByTestId('requests-nothing').or(page.getByTestId('requests-summary'))).toBeVisible();
});
