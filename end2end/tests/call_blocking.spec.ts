// Call blocking, run hydrated and with JavaScript off, both in Acme (each project with callers of
// its own): the admin opens the page from the dashboard, types a prefix without its "+" (refused
// next to the field, nothing added), blocks a number and a prefix and puts a number on the
// do-not-call list. A call from the blocked number is refused before it rings (the history says
// "Blocked", the page lists it as refused); a caller is blocked from the history's row; a call to
// the do-not-call number is refused next to the field; callers who hide their number are refused
// once the org says so. A member reads the lists and changes nothing; support staff read them
// read-only. Last, the admin removes everything the run added (afterAll does it too when a test
// failed first), so the next run and the other specs find Acme as it was.
import { expect, Locator, Page, test, TestInfo } from '@playwright/test';
import { login, ready } from './helpers';

const ORG = { slug: 'acme', admin: 'admin@acme.test', member: 'user@acme.test' };
const SUPPORT = 'support@phonehub.test';

/** Callers no other spec uses (the sandbox sells 718 numbers from line 1000 up, never 01xx). */
const CALLERS = {
  hydrated: { blocked: '+17185550131', caller: '+17185550132', dnc: '+17185550133' },
  'no-js': { blocked: '+17185550151', caller: '+17185550152', dnc: '+17185550153' },
};
/** The prefix: typed with spaces, shown with an ellipsis. */
const PREFIX = { typed: '+1 900*', shown: '+1900…' };
/** The number the calls ring (bought once, reused by the other project) and the phone it rings. */
const OUR_NUMBER_NAME = 'Call blocking line';
const AREA_CODE = '929';
const FORWARD = '+1 718 555 0190';

const BAD_PREFIX = 'Write a prefix with its country code: + then its first digits, then *, for example +1900*.';
const ADDED = 'Added: the list applies to the next call.';
const REMOVED = 'Removed from the list.';
const HIDDEN_SAVED = 'Saved: the next call from a hidden number is treated this way.';
const HIDDEN_REFUSED = 'Callers who hide their number are refused.';
const HIDDEN_RING = 'Callers who hide their number ring through like anyone else.';

// The tests tell one story (what the first adds, the next ones use): a failure skips the rest.
test.describe.configure({ mode: 'serial', timeout: 90_000 });

type List = 'blocked' | 'dnc';
const LIST_NAME: Record<List, string> = { blocked: 'Blocked callers', dnc: 'Do not call' };

let ours: { e164: string; id: string } | undefined;
let cleanedUp = false;

function callers(info: TestInfo) {
  return CALLERS[info.project.name as keyof typeof CALLERS];
}

/** Every entry the run adds: (list, as the page shows it). */
function added(info: TestInfo): [List, string][] {
  const c = callers(info);
  return [['blocked', c.blocked], ['blocked', PREFIX.shown], ['blocked', c.caller], ['dnc', c.dnc]];
}

/** "+17185550131" as typed with spaces: "+1 718 555 0131". */
function spaced(e164: string): string {
  return `+1 ${e164.slice(2, 5)} ${e164.slice(5, 8)} ${e164.slice(8)}`;
}

/** "+17185550133" as typed at home: "(718) 555-0133". */
function national(e164: string): string {
  const d = e164.slice(2);
  return `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`;
}

/** The ten digits of a US number, whatever the punctuation the history writes them with. */
function digits(e164: string): string {
  return e164.slice(2).split('').join('\\D*');
}

async function signIn(page: Page, info: TestInfo, email: string) {
  await login(page, info, email);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
}

async function openBlocking(page: Page, info: TestInfo) {
  await page.goto(`/o/${ORG.slug}/admin/call-blocking`);
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Call blocking', exact: true })).toBeVisible();
}

function list(page: Page, which: List): Locator {
  return page.getByRole('region', { name: LIST_NAME[which], exact: true });
}

/** The row of `shown` ("+17185550131", "+1900…") on a list. */
function entry(page: Page, which: List, shown: string): Locator {
  return list(page, which)
    .getByTestId('call-block')
    .filter({ has: page.getByTestId('call-block-pattern').getByText(shown, { exact: true }) });
}

function addForm(page: Page, which: List): Locator {
  return page.getByRole('form', { name: `Add to ${LIST_NAME[which]}` });
}

async function addEntry(page: Page, info: TestInfo, which: List, typed: string, note = '') {
  const form = addForm(page, which);
  await form.getByLabel('Number or prefix').fill(typed);
  await form.getByLabel('Note (optional)').fill(note);
  await form.getByRole('button', { name: which === 'blocked' ? 'Block' : 'Add to do-not-call', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText(ADDED);
  await ready(page, info);
}

async function removeEntry(page: Page, info: TestInfo, which: List, shown: string) {
  await list(page, which).getByRole('button', { name: `Remove ${shown}`, exact: true }).click();
  await expect(page.getByRole('status')).toHaveText(REMOVED);
  await expect(entry(page, which, shown)).toHaveCount(0);
  await ready(page, info);
}

/** Ticks or unticks "Block callers who hide their number" and saves it. */
async function blockHidden(page: Page, info: TestInfo, block: boolean) {
  const form = page.getByRole('form', { name: 'Hidden numbers' });
  await form.getByLabel('Block callers who hide their number').setChecked(block);
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText(HIDDEN_SAVED);
  await expect(page.getByTestId('block-anonymous')).toHaveText(block ? HIDDEN_REFUSED : HIDDEN_RING);
  await ready(page, info);
}

/** On the call-blocking page: removes whatever an earlier, failed run of this project left. */
async function removeLeftovers(page: Page, info: TestInfo) {
  for (const [which, shown] of added(info)) {
    if ((await entry(page, which, shown).count()) > 0) await removeEntry(page, info, which, shown);
  }
  const hidden = page.getByRole('form', { name: 'Hidden numbers' }).getByLabel('Block callers who hide their number');
  if (await hidden.isChecked()) await blockHidden(page, info, false);
}

/** Acme's sandbox number for these tests, bought the first time (as requests.spec.ts buys one),
 * forwarded to a phone so calls can be placed from it. */
async function ourNumber(page: Page, info: TestInfo): Promise<{ e164: string; id: string }> {
  const mine = () =>
    page
      .getByTestId(/^number-\+/)
      .filter({ hasText: OUR_NUMBER_NAME })
      .filter({ has: page.getByTestId('number-status').getByText('Active', { exact: true }) })
      .first();
  await page.goto(`/o/${ORG.slug}/numbers`);
  await ready(page, info);
  if ((await mine().count()) === 0) {
    await page.goto(`/o/${ORG.slug}/numbers/buy?search=1&country=US&number_type=local&area_code=${AREA_CODE}&voice=1`);
    await ready(page, info);
    await page.getByRole('link', { name: new RegExp(`^Buy \\+1${AREA_CODE}`) }).first().click();
    await ready(page, info);
    const confirm = page.getByRole('region', { name: 'Confirm purchase' });
    await confirm.getByLabel('Name (optional)').fill(OUR_NUMBER_NAME);
    await confirm.getByRole('button', { name: /Buy for/ }).click();
    await expect(page.getByRole('status')).toHaveText('Number bought. It is yours until you release it.');
    await page.goto(`/o/${ORG.slug}/numbers`);
    await ready(page, info);
  }
  const row = mine();
  const e164 = ((await row.getAttribute('data-testid')) ?? '').replace('number-', '');
  await row.getByRole('link', { name: e164 }).click();
  await page.waitForURL(/\/numbers\/\d+$/);
  await ready(page, info);
  const id = new URL(page.url()).pathname.split('/').pop() ?? '';
  const settings = page.getByRole('form', { name: 'Number settings' });
  await settings.getByLabel('Forward calls to').fill(FORWARD);
  await settings.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText('Number settings saved.');
  return { e164, id };
}

/** Reloads until `check` passes. The history does not poll (with JavaScript or without), and
 * the sandbox's status callbacks arrive when they do. */
async function reloadUntil(page: Page, check: () => Promise<void>) {
  await expect(async () => {
    await page.reload();
    await check();
  }).toPass({ timeout: 30_000 });
}

/** The sandbox calls our number from `from` (typed in the number page's simulate form); answers
 * the new call's row in the number's history, found by `who` (how the From column writes it). */
async function simulateCall(page: Page, info: TestInfo, from: string, who: RegExp | string): Promise<Locator> {
  const n = ours!;
  const rows = page.locator('tbody tr[data-testid^="call-"]').filter({ hasText: who });
  await page.goto(`/o/${ORG.slug}/calls?number=${n.id}`);
  await ready(page, info);
  const before = (await rows.count()) > 0 ? await rows.first().getAttribute('data-testid') : null;

  await page.goto(`/o/${ORG.slug}/numbers/${n.id}`);
  await ready(page, info);
  const sim = page.getByRole('form', { name: 'Simulate inbound' });
  await sim.getByLabel('From').fill(from);
  await sim.getByRole('button', { name: 'Simulate an incoming call' }).click();
  await expect(page.getByRole('status')).toHaveText(
    'The sandbox is calling your number: the call appears below and finishes in a few seconds.');
  let call = '';
  await reloadUntil(page, async () => {
    call = (await rows.first().getAttribute('data-testid', { timeout: 1_000 })) ?? '';
    expect(call, 'a new call from the caller').not.toBe(before ?? '');
  });
  await ready(page, info);
  return page.getByTestId(call);
}

test.afterAll(async ({ browser }, info) => {
  if (cleanedUp) return;
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await signIn(page, info, ORG.admin);
    await openBlocking(page, info);
    await removeLeftovers(page, info);
  } finally {
    await ctx.close();
  }
});

test('the admin adds a number and a prefix to block and a number not to call; a bad prefix is refused next to the field', async ({ page }, info) => {
  const c = callers(info);
  cleanedUp = false;
  await signIn(page, info, ORG.admin);

  // The org's dashboard links to the page.
  await page.goto(`/o/${ORG.slug}`);
  await ready(page, info);
  await page.getByRole('link', { name: 'Call blocking →' }).click();
  await expect(page.getByRole('heading', { name: 'Call blocking', exact: true })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/o/${ORG.slug}/admin/call-blocking$`));
  await ready(page, info);
  await removeLeftovers(page, info);

  // A prefix without its "+": the reason next to "Number or prefix", and nothing added.
  const blockedRows = list(page, 'blocked').getByTestId('call-block');
  const before = await blockedRows.count();
  await addForm(page, 'blocked').getByLabel('Number or prefix').fill('1900*');
  await addForm(page, 'blocked').getByRole('button', { name: 'Block', exact: true }).click();
  await expect(page.locator('#blocked-number-error')).toHaveText(BAD_PREFIX);
  const field = addForm(page, 'blocked').getByLabel('Number or prefix');
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(field).toHaveAccessibleDescription(/Write a prefix with its country code/);
  await expect(field).toHaveValue('1900*');
  await expect(blockedRows).toHaveCount(before);
  await ready(page, info);

  // A number (kept in E.164, with its note) and a prefix (shown with an ellipsis).
  await addEntry(page, info, 'blocked', spaced(c.blocked), 'Robocalls every night');
  await expect(entry(page, 'blocked', c.blocked)).toContainText('Robocalls every night');
  await expect(entry(page, 'blocked', c.blocked)).toContainText(ORG.admin);
  await addEntry(page, info, 'blocked', PREFIX.typed);
  await expect(entry(page, 'blocked', PREFIX.shown).getByTestId('call-block-pattern')).toHaveText(PREFIX.shown);
  await expect(blockedRows).toHaveCount(before + 2);

  // The do-not-call list, typed as at home.
  await addEntry(page, info, 'dnc', national(c.dnc), 'Asked us never to call');
  await expect(entry(page, 'dnc', c.dnc)).toContainText('Asked us never to call');
  await expect(entry(page, 'blocked', c.dnc)).toHaveCount(0);
});

test('a call from a blocked number is refused before it rings and listed as refused', async ({ page }, info) => {
  const c = callers(info);
  await signIn(page, info, ORG.admin);
  ours = await ourNumber(page, info);

  const row = await simulateCall(page, info, c.blocked, new RegExp(digits(c.blocked)));
  const call = ((await row.getAttribute('data-testid')) ?? '').replace('call-', '');
  // Refused at once; its status settles when the sandbox's callback arrives.
  const status = row.getByTestId('call-status');
  await reloadUntil(page, async () => {
    await expect(status).toHaveText('No answer · Blocked', { timeout: 1_000 });
  });
  await expect(status).toHaveAttribute('title', 'Blocked: number on the block list');

  // The page's "Refused calls" lists it, and links to the call.
  await openBlocking(page, info);
  const refused = page.getByRole('region', { name: 'Refused calls' });
  const listed = refused.getByTestId('blocked-call').filter({ has: page.locator(`a[href="/o/${ORG.slug}/calls/${call}"]`) });
  await expect(listed).toContainText(c.blocked);
  await expect(listed).toContainText(ours.e164);
  await expect(listed).toContainText('Blocked: number on the block list');
  await listed.getByRole('link').click();
  await page.waitForURL(new RegExp(`/calls/${call}$`));
  await ready(page, info);
  await expect(page.getByTestId('call-blocked')).toHaveText(
    'Blocked: number on the block list — refused before it rang; nothing was billed.');
  await expect(page.getByTestId('call-status')).toHaveText('No answer');
  await expect(page.getByTestId('call-cost')).toHaveText('$0.00');
});

test('the admin blocks a caller from their row in the call history', async ({ page }, info) => {
  const c = callers(info);
  await signIn(page, info, ORG.admin);
  ours ??= await ourNumber(page, info);

  const row = await simulateCall(page, info, c.caller, new RegExp(digits(c.caller)));
  const call = ((await row.getAttribute('data-testid')) ?? '').replace('call-', '');
  await expect(row.getByTestId('call-status')).not.toContainText('Blocked');
  // The button names the caller as the history writes them ("(718) 555-0132").
  await row.getByRole('button', { name: new RegExp(`^Block \\D*(?:1\\D*)?${digits(c.caller)}$`) }).click();
  await expect(page.getByRole('status')).toHaveText('Caller blocked: their next call is refused before it rings.');

  await openBlocking(page, info);
  await expect(entry(page, 'blocked', c.caller)).toContainText(`Blocked from call ${call}`);
});

test('a call to a do-not-call number is refused next to the number', async ({ page }, info) => {
  const c = callers(info);
  await signIn(page, info, ORG.admin);
  ours ??= await ourNumber(page, info);

  await page.goto(`/o/${ORG.slug}/calls/new`);
  await ready(page, info);
  const form = page.getByRole('form', { name: 'Place a call' });
  await form.getByLabel('Call from').selectOption(ours.id);
  await form.getByLabel('Number to call').fill(national(c.dnc));
  await form.getByRole('button', { name: 'Call' }).click();
  await expect(page.locator('#to-error')).toContainText(`Not called: ${c.dnc} is on this org's do-not-call list`);
  const to = page.getByRole('form', { name: 'Place a call' }).getByLabel('Number to call');
  await expect(to).toHaveAttribute('aria-invalid', 'true');
  await expect(to).toHaveValue(national(c.dnc));
  // Nothing was placed: no call page opened.
  await expect(page).not.toHaveURL(/\/calls\/\d+/);
});

test('callers who hide their number are refused once the org blocks them', async ({ page }, info) => {
  await signIn(page, info, ORG.admin);
  ours ??= await ourNumber(page, info);

  await openBlocking(page, info);
  await expect(page.getByTestId('block-anonymous')).toHaveText(HIDDEN_RING);
  await blockHidden(page, info, true);
  await expect(page.getByRole('form', { name: 'Hidden numbers' }).getByLabel('Block callers who hide their number')).toBeChecked();

  // Someone calls with their number hidden: refused, and no Block button on their row.
  const row = await simulateCall(page, info, 'anonymous', 'anonymous');
  const call = ((await row.getAttribute('data-testid')) ?? '').replace('call-', '');
  await reloadUntil(page, async () => {
    await expect(row.getByTestId('call-status')).toHaveText('No answer · Blocked', { timeout: 1_000 });
  });
  await expect(row.getByTestId('call-status')).toHaveAttribute('title', 'Blocked: the caller hid their number');
  await expect(row.getByRole('button')).toHaveCount(0);

  // Listed as refused; then hidden numbers ring through again, as the other specs expect.
  await openBlocking(page, info);
  await expect(page.getByTestId('blocked-call').filter({ has: page.locator(`a[href="/o/${ORG.slug}/calls/${call}"]`) }))
    .toContainText('Blocked: the caller hid their number');
  await blockHidden(page, info, false);
});

test('a member reads the lists and cannot change them; support staff read them and the refused calls read-only', async ({ browser }, info) => {
  const c = callers(info);
  for (const who of [ORG.member, SUPPORT]) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, info, who);
    await openBlocking(page, info);
    await expect(entry(page, 'blocked', c.blocked)).toBeVisible();
    await expect(entry(page, 'blocked', PREFIX.shown)).toBeVisible();
    await expect(entry(page, 'dnc', c.dnc)).toBeVisible();
    await expect(page.getByTestId('block-anonymous')).toHaveText(HIDDEN_RING);
    // The refused calls are the org's calls: support staff see them, a member (who sees only
    // their own calls) does not.
    const refused = page.getByRole('region', { name: 'Refused calls' });
    if (who === SUPPORT) await expect(refused).toBeVisible();
    else await expect(refused).toHaveCount(0);
    // No form to add, remove or save anything.
    await expect(page.getByRole('form', { name: /^Add to / })).toHaveCount(0);
    await expect(page.getByRole('form', { name: 'Hidden numbers' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: /^Remove / })).toHaveCount(0);
    await expect(page.getByRole('main').locator('form')).toHaveCount(0);
    const banner = page.getByRole('note').filter({ hasText: 'Support view: read-only.' });
    if (who === SUPPORT) await expect(banner.first()).toBeVisible();
    else await expect(banner).toHaveCount(0);
    await ctx.close();
  }
});

test('the admin removes what was added, one entry at a time', async ({ page }, info) => {
  await signIn(page, info, ORG.admin);
  await openBlocking(page, info);
  for (const [which, shown] of added(info)) {
    await expect(entry(page, which, shown)).toHaveCount(1);
    await removeEntry(page, info, which, shown);
  }
  await expect(page.getByTestId('block-anonymous')).toHaveText(HIDDEN_RING);
  cleanedUp = true;
});
