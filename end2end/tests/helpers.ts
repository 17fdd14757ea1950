// Shared steps: log in and wait until the page is live (hydrated) when JavaScript is on.
import { expect, Page, TestInfo } from '@playwright/test';

export const PASSWORD = 'phonehub-demo';

export function jsOn(info: TestInfo): boolean {
  return info.project.name === 'hydrated';
}

/** With JavaScript on, waits for the wasm bundle to hydrate the page. */
export async function ready(page: Page, info: TestInfo) {
  if (jsOn(info)) {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  }
}

export async function login(page: Page, info: TestInfo, email: string, password = PASSWORD) {
  await page.goto('/login');
  await ready(page, info);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}
