// Numbers and calls, run hydrated (Acme) and with JavaScript off (Globex): search (an empty area
// code explains itself), buy with a confirmation, change settings, place a call and watch it reach
// completed, play its recording, release with a confirmation.
import { expect, test } from '@playwright/test';
import { login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', user: 'user@acme.test' },
  'no-js': { slug: 'globex', user: 'admin@globex.test' },
};

test('search, buy, configure, call from and release a number', async ({ page }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.user);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await page.goto(`/o/${org.slug}/numbers/buy`);
  await ready(page, info);
  const search = page.getByRole('form', { name: 'Search numbers' });
  await search.getByLabel('Area code').fill('533');
  await search.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('search-message')).toHaveText('No numbers available in area code 533 — try a nearby area code.');
  await ready(page, info);
  await search.getByLabel('Area code').fill('212');
  await search.getByLabel('Voice').check();
  await search.getByRole('button', { name: 'Search' }).click();
  const buy = page.getByRole('link', { name: /^Buy \+1212/ }).first();
  await expect(buy).toBeVisible();
  const label = (await buy.getAttribute('aria-label')) ?? '';
  const number = label.replace('Buy ', '');
  await buy.click();
  await ready(page, info);
  const confirm = page.getByRole('region', { name: 'Confirm purchase' });
  await expect(confirm).toContainText(`Buy ${number}?`);
  await expect(confirm).toContainText('$1.00 a month');
  await confirm.getByLabel('Name (optional)').fill('Front desk');
  await confirm.getByRole('button', { name: /Buy for/ }).click();
  await expect(page.getByRole('status')).toHaveText('Number bought. It is yours until you release it.');
  const row = page.getByTestId(`number-${number}`);
  await expect(row).toContainText('Front desk');
  await expect(row.getByTestId('number-status')).toHaveText('Active');

  await ready(page, info);
  await row.getByRole('link', { name: number }).click();
  await ready(page, info);
  const settings = page.getByRole('form', { name: 'Number settings' });
  await settings.getByLabel('Forward calls to').fill('not a phone');
  await settings.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Phone numbers cannot contain letters.')).toBeVisible();
  await ready(page, info);
  await settings.getByLabel('Forward calls to').fill('(415) 555-0100');
  await settings.getByLabel('Record calls').check();
  await settings.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText('Number settings saved.');
  // Saved in E.164 (the field keeps what was typed while the page stays open).
  await expect(settings.getByLabel('Forward calls to')).toHaveAttribute('value', '+14155550100');

  const numberPage = page.url().split('?')[0];

  // Click-to-call from the new number: a bad destination first, then a real one.
  await page.goto(`/o/${org.slug}/calls/new`);
  await ready(page, info);
  const call = page.getByRole('form', { name: 'Place a call' });
  await call.getByLabel('Call from').selectOption({ label: `${number} · Front desk — rings +14155550100` });
  await call.getByLabel('Number to call').fill('12');
  await call.getByRole('button', { name: 'Call' }).click();
  await expect(page.getByText('Too short for US.')).toBeVisible();
  await ready(page, info);
  await page.getByRole('form', { name: 'Place a call' }).getByLabel('Call from').selectOption({ label: `${number} · Front desk — rings +14155550100` });
  await page.getByRole('form', { name: 'Place a call' }).getByLabel('Number to call').fill('+1 212 555 0142');
  await page.getByRole('form', { name: 'Place a call' }).getByRole('button', { name: 'Call' }).click();
  await page.waitForURL(/\/calls\/\d+/);
  // The page follows the call (polling with JavaScript, refreshing itself without).
  await expect(page.getByTestId('call-status')).toHaveText('Completed', { timeout: 30_000 });
  await expect(page.getByTestId('timeline')).toContainText('Ringing');
  const recording = page.getByTestId('recording');
  await expect(recording).toHaveCount(1, { timeout: 30_000 });
  await expect(page.getByTestId('call-cost')).not.toHaveText('$0.00');
  const src = (await recording.locator('audio').getAttribute('src')) ?? '';
  const audio = await page.request.get(src);
  expect(audio.status()).toBe(200);
  expect(audio.headers()['content-type']).toMatch(/^audio\//);
  expect((await audio.body()).subarray(0, 4).toString()).toBe('RIFF');
  if (info.project.name === 'hydrated') {
    // The browser itself loads and decodes it.
    const duration = await recording.locator('audio').evaluate(async (a: HTMLAudioElement) => {
      a.preload = 'auto';
      a.load();
      for (let i = 0; i < 100 && !(a.duration > 0); i++) await new Promise((r) => setTimeout(r, 100));
      return a.duration;
    });
    expect(duration).toBeGreaterThan(0);
  }
  await page.goto(`/o/${org.slug}/calls?status=completed`);
  await ready(page, info);
  await expect(page.getByRole('table')).toContainText('(212) 555-0142');

  await page.goto(numberPage);
  await ready(page, info);
  const release = page.getByRole('form', { name: 'Release number' });
  await release.getByRole('button', { name: 'Release number' }).click();
  await expect(page.getByText('Tick the box to confirm')).toBeVisible();
  await ready(page, info);
  await page.getByRole('form', { name: 'Release number' }).getByLabel(`Yes, release ${number}`).check();
  await page.getByRole('form', { name: 'Release number' }).getByRole('button', { name: 'Release number' }).click();
  await expect(page.getByRole('status')).toHaveText('Number released: the provider confirmed it and billing stopped.');
  await expect(page.getByTestId(`number-${number}`)).toHaveCount(0);
});
