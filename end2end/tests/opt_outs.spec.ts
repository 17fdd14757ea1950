// The opt-out ledger, run hydrated (Acme) and with JavaScript off (Globex): someone texts STOP to
// the org's number (played by the sandbox), the conversation says they opted out and a text to
// them is refused with the reason; the admin finds them on the opt-outs page, adds a number by
// hand (a bad one first), imports a CSV file (a bad one first) and downloads the list.
import { expect, test } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { jsOn, login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', admin: 'admin@acme.test', them: '+12125550171', added: '+12125550172' },
  'no-js': { slug: 'globex', admin: 'admin@globex.test', them: '+12125550181', added: '+12125550182' },
};

test('a STOP is honoured everywhere and the admin keeps the list', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.admin);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await page.goto(`/o/${org.slug}/numbers/buy?search=1&country=US&number_type=local&area_code=917&sms=1`);
  await ready(page, info);
  const buy = page.getByRole('link', { name: /^Buy \+1917/ }).first();
  const number = ((await buy.getAttribute('aria-label')) ?? '').replace('Buy ', '');
  await buy.click();
  await ready(page, info);
  await page.getByRole('region', { name: 'Confirm purchase' }).getByRole('button', { name: /Buy for/ }).click();
  await expect(page.getByRole('status')).toHaveText('Number bought. It is yours until you release it.');

  // They text "Stop texting me" (the sandbox plays them).
  await page.goto(`/o/${org.slug}/numbers`);
  await ready(page, info);
  await page.getByTestId(`number-${number}`).getByRole('link', { name: number }).click();
  await ready(page, info);
  const sim = page.getByRole('form', { name: 'Simulate inbound' });
  await sim.getByLabel('From').fill(org.them);
  await sim.getByLabel('SMS text').fill('Stop texting me');
  await sim.getByRole('button', { name: 'Simulate an incoming SMS' }).click();
  await expect(page.getByText('The sandbox sent your number an SMS')).toBeVisible();
  // Their words, then the one confirmation; the conversation says texts to them are refused.
  await expect(page.getByTestId('message').nth(-2)).toContainText('Stop texting me');
  await expect(page.getByTestId('message').last()).toContainText('You are unsubscribed');
  await expect(page.getByTestId('opted-out')).toContainText('opted out of this org');

  // A text to them is refused, saying why; nothing is added to the conversation.
  const form = page.getByRole('form', { name: 'Send SMS' });
  await form.getByLabel('From').selectOption(number);
  await form.getByLabel('To').fill(org.them);
  await form.getByLabel('Message').fill('Did you get our last message?');
  await form.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('form', { name: 'Send SMS' }).getByRole('alert'))
    .toContainText('only they can opt back in, by texting START');
  await ready(page, info);
  await expect(page.getByTestId('message')).toHaveCount(2);

  // The opt-outs page lists them with the proof.
  await page.goto(`/o/${org.slug}/admin/opt-outs`);
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Opt-outs', exact: true })).toBeVisible();
  const row = page.getByTestId('opt-out').filter({ hasText: org.them });
  await expect(row).toContainText('Stop texting me');
  await expect(row).toContainText('Only they can opt back in');

  // Adding a number by hand: a bad one is refused next to the field, then a good one.
  const add = page.getByRole('region', { name: 'Add a number' });
  await add.getByLabel('Phone number').fill('12');
  await add.getByLabel('Reason').fill('Asked by phone');
  await add.getByRole('button', { name: 'Add to the list' }).click();
  await ready(page, info);
  await expect(page.locator('#add-number')).toHaveAttribute('aria-invalid', 'true');
  await page.getByRole('region', { name: 'Add a number' }).getByLabel('Phone number').fill(org.added);
  await page.getByRole('region', { name: 'Add a number' }).getByLabel('Reason').fill('Asked by phone');
  await page.getByRole('region', { name: 'Add a number' }).getByRole('button', { name: 'Add to the list' }).click();
  await expect(page.getByRole('status')).toContainText('Added to the opt-out list');
  await expect(page.getByTestId('opt-out').filter({ hasText: org.added })).toContainText('Asked by phone');

  // Importing: a file with a bad row imports nothing and says which row; a good one imports.
  const importForm = page.getByRole('region', { name: 'Import a CSV file' });
  await importForm.getByLabel('CSV file').setInputFiles({
    name: 'old.csv', mimeType: 'text/csv', buffer: Buffer.from('phone\n+12125550191\nnot a number\n'),
  });
  await importForm.getByLabel('Reason').fill('From our old provider');
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByText('Nothing was imported')).toBeVisible();
  await ready(page, info);
  const again = page.getByRole('region', { name: 'Import a CSV file' });
  await again.getByLabel('CSV file').setInputFiles({
    name: 'old.csv', mimeType: 'text/csv', buffer: Buffer.from('phone\n+12125550191\n+12125550192\n'),
  });
  await again.getByLabel('Reason').fill('From our old provider');
  await again.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByRole('status')).toContainText('Import done');
  await expect(page.getByTestId('opt-out')).toHaveCount(4);

  // The download opens in a spreadsheet: every number, formula-safe.
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download the list (CSV)' }).click();
  const file = await (await download).path();
  const csv = await readFile(file, 'utf8');
  expect(csv.split('\n')[0]).toBe('number,since,source,reason,our_number,words,added_by');
  for (const n of [org.them, org.added, '+12125550191', '+12125550192']) expect(csv).toContain(n);
  if (!jsOn(info)) {
    // Without JavaScript the search is a plain GET form.
    await page.getByLabel('Find a number').fill('0191');
    await page.getByRole('button', { name: 'Find' }).click();
    await expect(page.getByTestId('opt-out')).toHaveCount(1);
  }
});
