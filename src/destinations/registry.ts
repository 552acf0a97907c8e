import type { DestinationDefinition } from './destination-definition';
import { file } from './file';
import { slack } from './slack';
import { webhook } from './webhook';

/**
 * Every destination type the engine knows, by slug. Adding a destination: a folder
 * `src/destinations/<slug>/` with its definition, listed here (`npm run new:destination <slug>`
 * scaffolds both).
 */
const definitions: DestinationDefinition[] = [webhook, file, slack];

export const destinationTypes: ReadonlyMap<string, DestinationDefinition> = new Map(definitions.map((d) => [d.slug, d]));
