// Compliance, run hydrated (Acme) and with JavaScript off (Globex): the admin turns the recording
// announcement off (without a reason first: refused next to the field, nothing saved), sees the
// warning and turns it back on; sets a retention period (a bad one first) and sees the next run;
// uploads an announcement (a file that is not audio first) and removes it. A member reads it all
// and can change nothing.
import { expect, Page, test, TestInfo } from '@playwright/test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { login, ready } from './helpers';

const ORGS = {
  hydrated: { slug: 'acme', admin: 'admin@acme.test', member: 'user@acme.test' },
  'no-js': { slug: 'globex', admin: 'admin@globex.test', member: 'admin@acme.test' },
};

/** A valid WAV file of `samples` samples of silence: the 44-byte RIFF/WAVE header (PCM, mono,
 * 8 kHz, 16-bit), then the zero samples. */
function silentWav(samples: number): Buffer {
  const data = samples * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16); // the fmt chunk's size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24); // samples per second
  b.writeUInt32LE(16000, 28); // bytes per second
  b.writeUInt16LE(2, 32); // bytes per sample frame
  b.writeUInt16LE(16, 34); // bits per sample
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(data, 40);
  return b;
}

async function openCompliance(page: Page, info: TestInfo, slug: string) {
  await page.goto(`/o/${slug}/admin/compliance`);
  await ready(page, info);
  await expect(page.getByRole('heading', { name: 'Compliance', exact: true })).toBeVisible();
}

test('the admin sets recording consent, retention and an announcement; a member only reads', async ({ page, browser }, info) => {
  const org = ORGS[info.project.name as keyof typeof ORGS];
  await login(page, info, org.admin);
  await page.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));

  // The org's dashboard links to the page.
  await page.goto(`/o/${org.slug}`);
  await ready(page, info);
  await page.getByRole('link', { name: 'Compliance →' }).click();
  await expect(page.getByRole('heading', { name: 'Compliance', exact: true })).toBeVisible();
  await ready(page, info);
  await expect(page.getByTestId('consent-state')).toHaveText('On');

  // Turning the announcement off needs a reason: said next to the field, and nothing is saved.
  let consent = page.getByTestId('consent-form');
  await consent.getByLabel('Announce recording').uncheck();
  await consent.getByLabel('Why callers will not be told').fill('');
  await consent.getByRole('button', { name: 'Save recording consent' }).click();
  await expect(page.locator('#consent-off-reason-error')).toContainText('Say why callers will not be told');
  await expect(page.getByTestId('consent-form').getByLabel('Why callers will not be told'))
    .toHaveAttribute('aria-invalid', 'true');
  await openCompliance(page, info, org.slug);
  await expect(page.getByTestId('consent-state')).toHaveText('On');
  await expect(page.getByTestId('consent-off-warning')).toHaveCount(0);

  // With a reason it is saved, and the page warns that callers are not told.
  consent = page.getByTestId('consent-form');
  await consent.getByLabel('Announce recording').uncheck();
  await consent.getByLabel('Why callers will not be told').fill('Our phone menu tells every caller first');
  await consent.getByRole('button', { name: 'Save recording consent' }).click();
  await expect(page.getByRole('status')).toContainText('Recording consent saved');
  await expect(page.getByTestId('consent-off-warning')).toContainText('Our phone menu tells every caller first');
  await expect(page.getByTestId('consent-state')).toHaveText('Off');

  // Back on: the warning goes.
  await ready(page, info);
  consent = page.getByTestId('consent-form');
  await consent.getByLabel('Announce recording').check();
  await consent.getByRole('button', { name: 'Save recording consent' }).click();
  await expect(page.getByTestId('consent-state')).toHaveText('On');
  await expect(page.getByTestId('consent-off-warning')).toHaveCount(0);
  // The wording in force, whatever the org's language.
  await expect(page.getByTestId('consent-spoken')).toHaveText(/^“.+”$/);

  // Retention: a period of 0 days is refused next to its field; 30 is saved and a run is due.
  await ready(page, info);
  const recordings = () => page.getByTestId('retention-form').getByLabel('Recordings', { exact: true });
  await recordings().fill('0');
  await page.getByTestId('retention-form').getByRole('button', { name: 'Save retention' }).click();
  await expect(page.locator('#retention-recordings-days-error')).toContainText('Enter a number of days from 1 to');
  await expect(recordings()).toHaveAttribute('aria-invalid', 'true');
  await ready(page, info);
  await recordings().fill('30');
  await page.getByTestId('retention-form').getByRole('button', { name: 'Save retention' }).click();
  await expect(page.getByRole('status')).toContainText('Retention saved');
  await expect(page.getByTestId('retention-next-run')).toContainText('Next run:');
  await expect(recordings()).toHaveValue('30');

  // The announcement's recording: a file that is not audio is refused next to the file field.
  await ready(page, info);
  await page.getByTestId('consent-audio-form').getByLabel('Audio file').setInputFiles({
    name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('This is not a recording.\n'),
  });
  await page.getByTestId('consent-audio-form').getByRole('button', { name: 'Upload recording' }).click();
  await expect(page.locator('#consent-audio-file-error')).toHaveText('That file is not a WAV or MP3 recording.');
  await expect(page.getByTestId('consent-audio-form').getByLabel('Audio file')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('consent-audio-current')).toContainText('No recording uploaded');

  // A real WAV file is taken and played instead of the wording.
  await ready(page, info);
  const dir = await mkdtemp(join(tmpdir(), 'phonehub-e2e-'));
  const wav = join(dir, 'welcome-announcement.wav');
  await writeFile(wav, silentWav(800));
  await page.getByTestId('consent-audio-form').getByLabel('Audio file').setInputFiles(wav);
  await page.getByTestId('consent-audio-form').getByRole('button', { name: 'Upload recording' }).click();
  await expect(page.getByRole('status')).toContainText('Recording uploaded');
  await expect(page.getByTestId('consent-audio-current')).toContainText('welcome-announcement.wav');
  await expect(page.getByTestId('consent-spoken')).toContainText('welcome-announcement.wav');

  // Removed: calls speak the wording again.
  await ready(page, info);
  await page.getByRole('button', { name: 'Remove the recording' }).click();
  await expect(page.getByRole('status')).toContainText('Recording removed');
  await expect(page.getByTestId('consent-audio-current')).toContainText('No recording uploaded');
  await expect(page.getByTestId('consent-spoken')).not.toContainText('welcome-announcement.wav');

  // A member sees the settings and nothing to change them with.
  const memberCtx = await browser.newContext();
  const member = await memberCtx.newPage();
  await login(member, info, org.member);
  await member.waitForURL((u) => !u.pathname.startsWith('/login') && !u.pathname.startsWith('/api/'));
  await openCompliance(member, info, org.slug);
  await expect(member.getByTestId('consent-state')).toHaveText('On');
  await expect(member.getByTestId('retention-current')).toContainText('30 days');
  await expect(member.getByTestId('retention-next-run')).toContainText('Next run:');
  await expect(member.getByTestId('retention-runs')).toBeVisible();
  for (const id of ['consent-form', 'consent-audio-form', 'retention-form']) {
    await expect(member.getByTestId(id)).toHaveCount(0);
  }
  await expect(member.getByRole('main').getByRole('button')).toHaveCount(0);
  await expect(member.getByRole('main').getByRole('textbox')).toHaveCount(0);
  await memberCtx.close();
});
