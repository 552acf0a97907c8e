import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { queryAll } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { FakeServer } from '../support/fake-server';
import { HubSpotFake } from '../support/fakes/hubspot';
import { MailchimpFake } from '../support/fakes/mailchimp';
import { TempProject } from '../support/temp-project';
import { apiClient, startApp, type ApiCall, type Json } from '../support/test-app';

/**
 * End to end, over real HTTP: the demo project (seeds, models, identity, profiles) is built by the
 * service, a model picks customers from `cdp.profiles`, and two syncs send it to a CRM (HubSpot
 * contacts, mirror: archived when they leave) and an email tool (a Mailchimp audience tag, audience
 * mode) through local servers that keep what each vendor would hold. The model is then rewritten
 * (ten customers leave, ten join, ten change their name and value) and rebuilt, and the syncs run
 * again: the vendors must hold exactly the model, with only the changes sent.
 */

const ADMIN_TOKEN = 'test-admin-token';
const HUBSPOT_TOKEN = 'pat-na1-e2e-secret-token';
const MAILCHIMP_KEY = '0123456789abcdef0123456789abcdef-us21';
const LIST = 'a1b2c3d4e5';

/** The customers of the demo's profiles with a usable email and name, numbered by profile id; `pick` chooses the numbers. */
const crmModel = (pick: string, lastName = 'last_name', value = 'lifetime_value') => `-- customers for the CRM and the newsletter (rewritten by the test)
with customers as (
  select profile_id, lower(email) as email, first_name, last_name, country, round(lifetime_value, 2) as lifetime_value,
    row_number() over (order by profile_id) as n
  from {{source "cdp" "profiles"}}
  where email like '%_@_%._%' and first_name is not null and last_name is not null and lifetime_value is not null
)
select profile_id, email, first_name, ${lastName} as last_name, country, ${value} as lifetime_value
from customers
where ${pick}
`;

interface Customer {
  profile_id: string;
  email: string;
  first_name: string;
  last_name: string;
  country: string | null;
  lifetime_value: number;
}

describe('syncs from the demo project to HubSpot and Mailchimp (local vendor fakes)', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: ApiCall;
  let ws: Workspace;
  let hubspotServer: FakeServer;
  let mailchimpServer: FakeServer;
  const hubspot = new HubSpotFake(HUBSPOT_TOKEN);
  const mailchimp = new MailchimpFake(LIST);

  const customers = async (): Promise<Customer[]> =>
    (await queryAll(ws.warehouse, 'select * from analytics.crm_contacts order by email')).map((r) => ({
      profile_id: String(r.profile_id),
      email: String(r.email),
      first_name: String(r.first_name),
      last_name: String(r.last_name),
      country: typeof r.country === 'string' ? r.country : null,
      lifetime_value: Number(r.lifetime_value),
    }));

  const build = async (...select: string[]): Promise<void> => {
    const res = await api('POST', '/api/models/build', select.length ? { select } : {});
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
  };

  const runSync = async (name: string): Promise<Json> => {
    const started = await api('POST', `/api/syncs/${name}/runs`, {});
    expect(started.status).toBe(202);
    for (let i = 0; i < 600; i++) {
      const run = await api('GET', `/api/syncs/${name}/runs/${started.body.runId}`);
      if (run.body.finishedAt) return run.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the run of ${name} did not finish`);
  };

  /** What HubSpot and Mailchimp must hold for the model as it is now. */
  const expectVendorsHold = async (tag: string) => {
    const want = await customers();
    expect(want.length).toBeGreaterThanOrEqual(30);
    const emails = want.map((c) => c.email);
    expect(hubspot.emails()).toEqual(emails);
    for (const c of want) {
      expect(hubspot.contactBy('email', c.email)?.properties).toMatchObject({
        email: c.email,
        firstname: c.first_name,
        lastname: c.last_name,
        ...(c.country ? { country: c.country } : {}),
        lifetime_value: String(c.lifetime_value),
      });
    }
    expect(mailchimp.tagged(tag)).toEqual(emails);
    for (const c of want) expect(mailchimp.member(c.email)?.merge_fields).toMatchObject({ FNAME: c.first_name, LNAME: c.last_name });
    expect(hubspot.violations).toEqual([]);
  };

  beforeAll(async () => {
    hubspotServer = await FakeServer.start();
    hubspotServer.handle(hubspot.handler);
    mailchimpServer = await FakeServer.start();
    mailchimpServer.handle(mailchimp.handler);
    process.env.CDP_TEST_HUBSPOT_TOKEN = HUBSPOT_TOKEN;
    process.env.CDP_TEST_MAILCHIMP_KEY = MAILCHIMP_KEY;
    project = TempProject.demo().write({
      'models/crm/crm_contacts.sql': crmModel('n <= 40'),
      'destinations/crm.yaml': `type: hubspot\nsettings:\n  access_token: \${CDP_TEST_HUBSPOT_TOKEN}\n  base_url: ${hubspotServer.url}\n`,
      'destinations/newsletter.yaml': `type: mailchimp\nsettings:\n  api_key: \${CDP_TEST_MAILCHIMP_KEY}\n  list_id: ${LIST}\n  base_url: ${mailchimpServer.url}/3.0\n`,
      // no `action:` — mirror is served by HubSpot's contacts action alone
      'syncs/crm_contacts_to_hubspot.yaml': [
        'source: { model: crm_contacts }',
        'primary_key: profile_id',
        'destination: crm',
        'mode: mirror',
        'mapping:',
        '  email: email',
        '  firstname: first_name',
        '  lastname: last_name',
        '  country: country',
        '  lifetime_value: { column: lifetime_value, type: number }',
        'options: { create_properties: true, skip_nulls: true, batch_size: 25 }',
      ].join('\n'),
      'syncs/crm_contacts_to_mailchimp.yaml': [
        'source: { model: crm_contacts }',
        'primary_key: profile_id',
        'destination: newsletter',
        'mode: audience',
        'mapping:',
        '  email: email',
        '  first_name: first_name',
        '  last_name: last_name',
        'options: { tag: CRM customers, status_if_new: transactional }',
      ].join('\n'),
    });
    const config = project.config();
    config.adminToken = ADMIN_TOKEN;
    config.log_level = 'error';
    const started = await startApp(config);
    app = started.app;
    ws = app.get(Workspace);
    api = apiClient(started.base, ADMIN_TOKEN);
    await build();
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await hubspotServer?.close();
    await mailchimpServer?.close();
    project?.cleanup();
    delete process.env.CDP_TEST_HUBSPOT_TOKEN;
    delete process.env.CDP_TEST_MAILCHIMP_KEY;
  });

  it('adds every customer: HubSpot contacts (a custom property created) and a Mailchimp tag', async () => {
    const crm = await runSync('crm_contacts_to_hubspot');
    expect(crm).toMatchObject({ status: 'succeeded', counts: { planned: 40, added: 40, changed: 0, removed: 0, succeeded: 40, failed: 0 } });
    const email = await runSync('crm_contacts_to_mailchimp');
    expect(email).toMatchObject({ status: 'succeeded', counts: { planned: 40, added: 40, succeeded: 40, failed: 0 } });
    expect(hubspot.properties.get('lifetime_value')).toMatchObject({ type: 'number' });
    await expectVendorsHold('CRM customers');
    // the new members joined with the consent the sync was given, and nobody else is in the audience
    expect(new Set([...mailchimp.members.values()].map((m) => m.status))).toEqual(new Set(['transactional']));
    expect(mailchimp.activeEmails()).toEqual((await customers()).map((c) => c.email));
  });

  it('after the model changes, sends only the changes: 10 joins, 10 changes, 10 leaves', async () => {
    const before = await customers();
    project.write({ 'models/crm/crm_contacts.sql': crmModel('n > 10 and n <= 50', "case when n between 21 and 30 then upper(last_name) || '-Smith' else last_name end", 'case when n between 21 and 30 then lifetime_value + 100 else lifetime_value end') });
    await build('crm_contacts');
    const after = await customers();
    const left = before.filter((b) => !after.some((a) => a.profile_id === b.profile_id));
    expect(left).toHaveLength(10);
    const requestsBefore = hubspotServer.requests.length;

    const crm = await runSync('crm_contacts_to_hubspot');
    expect(crm).toMatchObject({ status: 'succeeded', counts: { planned: 30, added: 10, changed: 10, removed: 10, unchanged: 20, succeeded: 30, failed: 0 } });
    // 30 rows in batches of 25: a handful of calls, not one per customer
    expect(hubspotServer.requests.length - requestsBefore).toBeLessThan(12);
    const email = await runSync('crm_contacts_to_mailchimp');
    expect(email).toMatchObject({ status: 'succeeded', counts: { planned: 30, added: 10, changed: 10, removed: 10, succeeded: 30, failed: 0 } });

    await expectVendorsHold('CRM customers');
    for (const c of left) {
      // HubSpot: archived (mirror); Mailchimp: untagged, still a member with its consent
      expect(hubspot.contactBy('email', c.email)).toBeUndefined();
      expect([...hubspot.contacts.values()].find((x) => x.properties.email === c.email)?.archived).toBe(true);
      expect(mailchimp.member(c.email)).toMatchObject({ archived: false, status: 'transactional' });
    }
    expect(after.filter((c) => c.last_name.endsWith('-Smith'))).toHaveLength(10);

    // a third run has nothing to send
    expect(await runSync('crm_contacts_to_hubspot')).toMatchObject({ status: 'succeeded', counts: { planned: 0, unchanged: 40 } });
  });

  it('infers the action from the mode, or says which to choose', async () => {
    const body = { source: { model: 'crm_contacts' }, primary_key: 'profile_id', destination: 'crm', mapping: { email: 'email' } };
    const audience = await api('POST', '/api/syncs', { ...body, name: 'crm_list', mode: 'audience' });
    expect(audience.status).toBe(201);
    expect(audience.body.problems).toEqual([]);
    const upsert = await api('POST', '/api/syncs', { ...body, name: 'crm_upsert', mode: 'insert' });
    expect(upsert.status).toBe(400);
    expect(upsert.body.message).toMatch(/action: HubSpot has several actions and none of its actions serves mode insert; choose one of contacts, list_membership/);
  });
});
