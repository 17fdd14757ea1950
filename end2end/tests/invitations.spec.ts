// Membership by consent, hydrated (Acme invites Globex's owner) and with JavaScript off (Globex
// invites Acme's member): the org sees the invitation by e-mail only; the invitee finds it on their
// home page, declines it, is invited again, accepts and is a member; then leaves (the next run
// starts as this one did).
import { expect, Page, test, TestInfo } from '@playwright/test';
import { login, ready } from './helpers';

const CASES = {
  hydrated: {
    slug: 'acme',
    org: 'Acme Corp',
    owner: 'admin@acme.test',
    invitee: 'admin@globex.test',
    inviteeName: 'Gus Globex',
    own: 'globex',
  },
  'no-js': {
    slug: 'globex',
    org: 'Globex',
    owner: 'admin@globex.test',
    invitee: 'user@acme.test',
    inviteeName: 'Uma User',
    own: 'acme',
  },
};
type Case = (typeof CASES)['hydrated'];

async function signIn(page: Page, info: TestInfo, email: string) {
  await login(page, info, email);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
}

async function signOut(page: Page, info: TestInfo) {
  await ready(page, info);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
}

async function invite(page: Page, info: TestInfo, c: Case) {
  await signIn(page, info, c.owner);
  await page.goto(`/o/${c.slug}/members`);
  await ready(page, info);
  const addForm = page.getByRole('region', { name: 'Add a member' });
  await addForm.getByLabel('E-mail').fill(c.invitee);
  await addForm.getByLabel('Initial password').fill('an initial password 1');
  await addForm.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByRole('status')).toHaveText(
    'Invitation sent: they become a member once they accept it.',
  );
  // By e-mail only: nothing says whether the address has an account, nor whose it is.
  const row = page
    .getByRole('region', { name: 'Invitations' })
    .getByRole('row')
    .filter({ hasText: c.invitee });
  await expect(row).toContainText('Pending · expires');
  await expect(row).toContainText('Member');
  await expect(page.getByText(c.inviteeName)).toHaveCount(0);
  await signOut(page, info);
}

test('an invitation is declined, sent again and accepted', async ({ page }, info) => {
  const c = CASES[info.project.name as keyof typeof CASES];

  await invite(page, info, c);
  await signIn(page, info, c.invitee);
  // The home page holds the invitation instead of going on to the invitee's own org.
  await expect(page).toHaveURL(/\/$/);
  await ready(page, info);
  await expect(page.getByText(`${c.owner} invited you to ${c.org} as member.`)).toBeVisible();
  await page.getByRole('button', { name: `Decline the invitation to ${c.org}` }).click();
  await expect(page).toHaveURL(new RegExp(`/o/${c.own}$`));
  await ready(page, info);
  await page.goto(`/o/${c.slug}`);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await signOut(page, info);

  await invite(page, info, c);
  await signIn(page, info, c.invitee);
  await expect(page).toHaveURL(/\/$/);
  await ready(page, info);
  await page.getByRole('button', { name: `Accept the invitation to ${c.org}` }).click();
  await expect(page).toHaveURL(new RegExp(`/o/${c.slug}\\?notice=invitation-accepted$`));
  await expect(page.getByRole('status')).toHaveText('Invitation accepted: welcome to the org.');
  await expect(page.getByText('Your access: Member')).toBeVisible();

  // Leave again, so the other project (and a rerun) starts from the seeded memberships.
  await ready(page, info);
  await page.getByRole('button', { name: 'Leave this org' }).click();
  await expect(page).toHaveURL(new RegExp(`/o/${c.own}$`));
});

test('a new account chooses its own password before anything else', async ({ page }, info) => {
  const c = CASES[info.project.name as keyof typeof CASES];
  // A fresh address each run: the account is made by the invitation.
  const email = `new-${info.project.name}-${Date.now()}@example.test`;
  const own = 'a password of my own';
  await invite(page, info, { ...c, invitee: email });

  await login(page, info, email, 'an initial password 1');
  await expect(page).toHaveURL(/\/account$/);
  await ready(page, info);
  await expect(page.getByTestId('choose-password')).toBeVisible();
  // Any other page leads back here.
  await page.goto(`/o/${c.slug}`);
  await expect(page).toHaveURL(/\/account$/);
  await ready(page, info);

  await page.getByLabel('The password you were given').fill('an initial password 1');
  await page.getByLabel('New password', { exact: true }).fill(own);
  await page.getByLabel('Repeat the new password').fill(own);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status')).toHaveText(
    'Password changed. Your other sessions have been signed out.',
  );
  await expect(page.getByTestId('choose-password')).toHaveCount(0);

  // Now the home page holds the invitation, and accepting it works.
  await page.goto('/');
  await ready(page, info);
  await page.getByRole('button', { name: `Accept the invitation to ${c.org}` }).click();
  await expect(page).toHaveURL(new RegExp(`/o/${c.slug}\\?notice=invitation-accepted$`));
  await expect(page.getByText('Your access: Member')).toBeVisible();
});
