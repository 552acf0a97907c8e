import type { DestinationDefinition } from './destination-definition';

/**
 * Every destination type the engine knows, by slug. Adding a destination: a folder
 * `src/destinations/<slug>/` with its definition, listed here (`npm run new:destination <slug>`
 * scaffolds both).
 */
const definitions: DestinationDefinition[] = [];

export const destinationTypes: ReadonlyMap<string, DestinationDefinition> = new Map(definitions.map((d) => [d.slug, d]));
