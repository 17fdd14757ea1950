// Quiet hours, run hydrated (Acme) and with JavaScript off (Globex): the admin types a time that
// is not HH:MM (refused next to the field, nothing saved), picks the 8:00–20:00 preset and sees it
// in force; a member reads the window on the compliance and SMS pages and can change nothing; the
// admin lets the member send urgent texts and takes it back. A text written in its recipient's
// quiet hours waits, says when it goes, and is canceled. Each test ends with the window as
// global-setup.ts left it (all day), so the other specs' texts never wait.
import { expect, Page, test, TestInfo } from '@playwright/test';
import { openAllDay } from '../global-setup';
import { login, ready } from './helpers';

// Recipients no other spec uses (opt_outs.spec.ts puts 0191 and 0192 on its opt-out list).
const ORGS = {
  hydrated: { slug: 'acme', admin: 'admin@acme.test', member: 'user@acme.test', them: '+1 212 555 0193' },
  'no-js': { slug: 'globex', admin: 'admin@globex.test', member: 'admin@acme.test', them: '+1 212 555 0194' },
};

const STRICT = '8:00–20:00 (Florida, Oklahoma, Maryland, Washington)';
const STRICT_SUMMARY = "Texts go out 08:00–20:00 in each recipient's local time; others wait until then.";
const ALL_DAY_SUMMARY = "Texts go out 00:00–24:00 in each recipient's local time; others wait until then.";

async function signIn(page: Page, info: TestInfo, email: string) {
  await login(page, info, email);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
}

async function openCompliance(page: Page, info: TestInfo, slug: string) {
  await page.goto(`/o/${slug}/admin/compliance`);
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Compliance', exact: true })).toBeVisible();
}

// A run that fails part way still leaves the window open all day for the specs after it.
test.afterEach(async ({ baseURL }, info) => {
  if (info.status !== info.expectedStatus && baseURL) {
    const org = ORGS[info.project.name as keyof typeof ORGS];
    await openAllDay(baseURL, org.slug, org.admin);
  }
});

test('the admin sets the quiet hours and who may send urgent texts; a member reads the window', async ({ page, browser }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await signIn(page, info, org.admin);
  await openCompliance(page, info, org.slug);
  const region = page.getByRole('region', { name: 'Quiet hours' });
  await expect(region.getByRole('heading', { name: 'Quiet hours' })).toBeVisible();
  const summary = page.getByTestId('quiet-hours-summary');
  const before = (await summary.textContent()) ?? '';
  expect(before).toMatch(/^Texts go out \d\d:\d\d–\d\d:\d\d in each recipient's local time/);
  await expect(region).toContainText("The window is the recipient's local time");

  // A time that is not HH:MM is refused next to its field, kept as typed; nothing is saved.
  let form = page.getByRole('form', { name: 'Quiet hours' });
  await form.getByLabel('Hold texts outside the window').check();
  await form.getByLabel('Window', { exact: true }).selectOption({ label: 'Custom' });
  await form.getByLabel('From', { exact: true }).fill('9');
  await form.getByLabel('Until', { exact: true }).fill('21:00');
  await form.getByRole('button', { name: 'Save quiet hours' }).click();
  await expect(page.locator('#quiet-start-error')).toHaveText('Enter a time as HH:MM, for example 08:00.');
  form = page.getByRole('form', { name: 'Quiet hours' });
  await expect(form.getByLabel('From', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByLabel('From', { exact: true })).toHaveValue('9');
  await expect(form.getByLabel('Window', { exact: true })).toHaveValue('custom');
  await openCompliance(page, info, org.slug);
  await expect(summary).toHaveText(before);

  // A preset is saved and in force; the form shows its times.
  form = page.getByRole('form', { name: 'Quiet hours' });
  await form.getByLabel('Window', { exact: true }).selectOption({ label: STRICT });
  await form.getByRole('button', { name: 'Save quiet hours' }).click();
  await expect(page.getByRole('status')).toHaveText('Quiet hours saved.');
  await expect(summary).toHaveText(STRICT_SUMMARY);
  form = page.getByRole('form', { name: 'Quiet hours' });
  await expect(form.getByLabel('Window', { exact: true })).toHaveValue('strict');
  await expect(form.getByLabel('From', { exact: true })).toHaveValue('08:00');
  await expect(form.getByLabel('Until', { exact: true })).toHaveValue('20:00');
  await expect(form.getByLabel('Hold texts outside the window')).toBeChecked();

  // A member reads the window where they send texts, and cannot change it.
  const memberCtx = await browser.newContext();
  const member = await memberCtx.newPage();
  await signIn(member, info, org.member);
  await member.goto(`/o/${org.slug}/sms`);
  await ready(member, info);
  await expect(member.getByTestId('quiet-hours')).toHaveText(STRICT_SUMMARY);
  await openCompliance(member, info, org.slug);
  await expect(member.getByTestId('quiet-hours-summary')).toHaveText(STRICT_SUMMARY);
  await expect(member.getByRole('form', { name: 'Quiet hours' })).toHaveCount(0);
  await memberCtx.close();

  // The admin lets the member send urgent texts: the members list says so; then takes it back.
  await page.goto(`/o/${org.slug}/members`);
  await ready(page, info);
  const row = page.getByRole('table', { name: 'Members', exact: true }).getByRole('row').filter({ hasText: org.member });
  const urgent = page.getByRole('form', { name: `Urgent texts for ${org.member}` });
  await urgent.getByLabel('May send urgent texts').check();
  await urgent.getByRole('button', { name: `Save urgent texts of ${org.member}` }).click();
  await expect(page.getByRole('status')).toHaveText('Urgent texting permission saved.');
  await expect(row).toContainText('Urgent texts allowed');
  await expect(urgent.getByLabel('May send urgent texts')).toBeChecked();
  // Owners and admins always may: no such form for them.
  await expect(page.getByRole('form', { name: `Urgent texts for ${org.admin}` })).toHaveCount(0);

  await ready(page, info);
  await urgent.getByLabel('May send urgent texts').uncheck();
  await urgent.getByRole('button', { name: `Save urgent texts of ${org.member}` }).click();
  await expect(row).not.toContainText('Urgent texts allowed');
  await expect(page.getByRole('status')).toHaveText('Urgent texting permission saved.');
  await expect(urgent.getByLabel('May send urgent texts')).not.toBeChecked();

  // Back to the whole day, typed as a custom window.
  await openCompliance(page, info, org.slug);
  form = page.getByRole('form', { name: 'Quiet hours' });
  await form.getByLabel('Hold texts outside the window').check();
  await form.getByLabel('Window', { exact: true }).selectOption({ label: 'Custom' });
  await form.getByLabel('From', { exact: true }).fill('00:00');
  await form.getByLabel('Until', { exact: true }).fill('24:00');
  await form.getByRole('button', { name: 'Save quiet hours' }).click();
  await expect(summary).toHaveText(ALL_DAY_SUMMARY);
  await expect(page.getByRole('status')).toHaveText('Quiet hours saved.');
  await expect(page.getByRole('form', { name: 'Quiet hours' }).getByLabel('Window', { exact: true })).toHaveValue('custom');
});

test('a text written in their quiet hours waits for their window and can be canceled', async ({ page, baseURL }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await signIn(page, info, org.admin);

  // A three-hour window (the shortest) starting about six hours from now in New York (area code
  // 212), ending by midnight: quiet hours there now, and hours before it opens, whatever the hour
  // the test runs at.
  const hour = Number(
    new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', hourCycle: 'h23' }).format(new Date()),
  );
  const start = Math.min((hour + 6) % 24, 21);
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;
  await openCompliance(page, info, org.slug);
  const form = page.getByRole('form', { name: 'Quiet hours' });
  await form.getByLabel('Hold texts outside the window').check();
  await form.getByLabel('Window', { exact: true }).selectOption({ label: 'Custom' });
  await form.getByLabel('From', { exact: true }).fill(hh(start));
  await form.getByLabel('Until', { exact: true }).fill(hh(start + 3));
  await form.getByRole('button', { name: 'Save quiet hours' }).click();
  await expect(page.getByTestId('quiet-hours-summary')).toHaveText(
    `Texts go out ${hh(start)}–${hh(start + 3)} in each recipient's local time; others wait until then.`,
  );

  // An SMS number to send from.
  await page.goto(`/o/${org.slug}/numbers/buy?search=1&country=US&number_type=local&area_code=332&sms=1`);
  await ready(page, info);
  const buy = page.getByRole('link', { name: /^Buy \+1332/ }).first();
  const number = ((await buy.getAttribute('aria-label')) ?? '').replace('Buy ', '');
  await buy.click();
  await ready(page, info);
  await page.getByRole('region', { name: 'Confirm purchase' }).getByRole('button', { name: /Buy for/ }).click();
  await expect(page.getByRole('status')).toHaveText('Number bought. It is yours until you release it.');

  // Written now, it is scheduled: the thread says when it goes.
  await page.goto(`/o/${org.slug}/sms`);
  await ready(page, info);
  const send = page.getByRole('form', { name: 'Send SMS' });
  await send.getByLabel('From').selectOption(number);
  await send.getByLabel('To').fill(org.them);
  await send.getByLabel('Message').fill('See you tomorrow at nine.');
  await send.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('status')).toHaveText(/^Scheduled: it is quiet hours where they are/);
  const message = page.getByTestId('message').last();
  await expect(message).toContainText('See you tomorrow at nine.');
  await expect(page.getByTestId('message-status').last()).toHaveText('Scheduled (quiet hours)');
  await expect(message).toContainText(' · goes at ');
  const thread = page.url();

  // The compliance page counts it.
  await openCompliance(page, info, org.slug);
  await expect(page.getByTestId('quiet-hours-scheduled')).toContainText("scheduled for");

  // Canceled, it will never go.
  await page.goto(thread);
  await ready(page, info);
  await page.getByTestId('message').last().getByRole('form', { name: 'Cancel scheduled text' })
    .getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('status')).toHaveText('Text canceled: it will not be sent.');
  await expect(page.getByTestId('message-status').last()).toHaveText('Canceled');
  await expect(page.getByTestId('message').last()).not.toContainText('goes at');
  await expect(page.getByRole('form', { name: 'Cancel scheduled text' })).toHaveCount(0);

  // The window as the other specs expect it.
  if (!baseURL) throw new Error('no baseURL');
  await openAllDay(baseURL, org.slug, org.admin);
});
