import { braze } from './braze';
import type { DestinationDefinition } from './destination-definition';
import { customerio } from './customerio';
import { file } from './file';
import { google } from './google';
import { hubspot } from './hubspot';
import { intercom } from './intercom';
import { iterable } from './iterable';
import { klaviyo } from './klaviyo';
import { linkedin } from './linkedin';
import { mailchimp } from './mailchimp';
import { meta } from './meta';
import { salesforce } from './salesforce';
import { sendgrid } from './sendgrid';
import { slack } from './slack';
import { tiktok } from './tiktok';
import { webhook } from './webhook';
import { zendesk } from './zendesk';

/**
 * Every destination type the engine knows, by slug. Adding a destination: a folder
 * `src/destinations/<slug>/` with its definition, listed here (`npm run new:destination <slug>`
 * scaffolds both).
 */
const definitions: DestinationDefinition[] = [webhook, file, slack, google, tiktok, meta, linkedin, klaviyo, customerio, iterable, mailchimp, sendgrid, hubspot, salesforce, braze, intercom, zendesk];

export const destinationTypes: ReadonlyMap<string, DestinationDefinition> = new Map(definitions.map((d) => [d.slug, d]));
