import { DESTINATION_CATEGORIES, SYNC_MODES } from '../../../src/destinations/destination-definition';
import { destinationTypes } from '../../../src/destinations/registry';

describe('destination registry', () => {
  it('lists every destination by slug, each once', () => {
    expect([...destinationTypes.keys()].sort()).toEqual(['braze', 'customerio', 'file', 'google', 'hubspot', 'intercom', 'iterable', 'klaviyo', 'linkedin', 'mailchimp', 'meta', 'salesforce', 'sendgrid', 'slack', 'tiktok', 'webhook', 'zendesk']);
  });

  it.each([...destinationTypes.values()].map((d) => ({ slug: d.slug, definition: d })))('$slug is a well-formed definition', ({ definition }) => {
    expect(DESTINATION_CATEGORIES).toContain(definition.category);
    expect(definition.description.length).toBeGreaterThan(0);
    expect(Object.keys(definition.actions).length).toBeGreaterThan(0);
    for (const action of Object.values(definition.actions)) {
      expect(action.modes.length).toBeGreaterThan(0);
      for (const mode of action.modes) expect(SYNC_MODES).toContain(mode);
      expect(action.batchSize).toBeGreaterThan(0);
      // every option has a default or is optional: a sync may omit them all
      expect(action.options.safeParse({}).success).toBe(true);
    }
  });
});
