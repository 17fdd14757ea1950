// Before the suite: the demo orgs' quiet hours span the whole day (00:00–24:00, on), so the specs
// that send texts (sms, opt_outs, statements) never find their recipient in quiet hours, whatever
// the hour the suite runs at. quiet_hours.spec.ts changes the window and puts this one back.
import { APIRequestContext, FullConfig, request } from '@playwright/test';
import { PASSWORD } from './tests/helpers';

/** The demo orgs and their admins (see `app/src/ssr/seed.rs`). */
const DEMO_ORGS = [
  { slug: 'acme', admin: 'admin@acme.test' },
  { slug: 'globex', admin: 'admin@globex.test' },
];

/** Posts a form as a browser with JavaScript off does; throws unless the server took it (a 303
 * back, or 200). */
async function postForm(api: APIRequestContext, origin: string, endpoint: string, form: Record<string, string>) {
  const res = await api.post(`/api/${endpoint}`, {
    form,
    headers: { Origin: origin, Accept: 'text/html' },
    maxRedirects: 0,
  });
  if (res.status() !== 303 && res.status() !== 200) {
    const body = (await res.text()).slice(0, 500);
    throw new Error(`POST /api/${endpoint} (${JSON.stringify({ ...form, password: undefined })}) answered ${res.status()}: ${body}`);
  }
}

/** Sets org `slug`'s quiet hours to the whole day, signed in as its `admin`. */
export async function openAllDay(baseURL: string, slug: string, admin: string) {
  const origin = new URL(baseURL).origin;
  const api = await request.newContext({ baseURL });
  try {
    await postForm(api, origin, 'login', { email: admin, password: PASSWORD });
    await postForm(api, origin, 'save_quiet_hours', {
      org: slug,
      enabled: 'on',
      preset: 'custom',
      start: '00:00',
      end: '24:00',
    });
  } finally {
    await api.dispose();
  }
}

export default async function globalSetup(config: FullConfig) {
  const baseURL = config.projects[0]?.use.baseURL ?? process.env.E2E_BASE_URL;
  if (!baseURL) throw new Error('E2E_BASE_URL is not set: run the suite with scripts/e2e.sh (make e2e)');
  for (const org of DEMO_ORGS) {
    await openAllDay(baseURL, org.slug, org.admin);
  }
}
