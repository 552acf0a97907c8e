import type { CdpConfig } from '../config/config.schema';
import { CdpError } from '../errors/cdp-error';
import { defaultNormalizer, type Normalizer } from '../identity/identity.config';
import { normalizeIdentifier } from '../identity/normalize';

/** What a profile is looked up by: one of its identifiers (normalized), or its id. */
export type ProfileRef = { type: string; value: string } | { profileId: string };

/** The identifier types when cdp.yaml has no `identity:` section. */
const BUILT_IN_TYPES = ['user_id', 'email', 'phone', 'anonymous_id'];

/**
 * The identifier types a profile can be looked up by (those of `identity.identifiers` in cdp.yaml),
 * and each one's normalization, the same as resolution applies: ` Jane@Example.COM ` finds
 * jane@example.com, `07700 900123` finds +447700900123 when the phone identifier's
 * default_country is GB.
 */
export class ProfileRefs {
  private readonly normalizers: ReadonlyMap<string, (value: string) => string | null>;

  constructor(config: Pick<CdpConfig, 'identity'>) {
    const identifiers = config.identity?.identifiers ?? BUILT_IN_TYPES.map((type) => ({ type, normalize: undefined, default_country: undefined }));
    this.normalizers = new Map(identifiers.map((i) => [i.type, normalizer(i.normalize ?? defaultNormalizer(i.type), i.default_country)]));
  }

  get types(): string[] {
    return [...this.normalizers.keys()];
  }

  /** An identifier lookup with its value normalized; a 400 for an unknown type or a value that identifies no one. */
  identifier(type: string, value: string): ProfileRef {
    const normalize = this.normalizers.get(type);
    if (!normalize) {
      throw new CdpError('VALIDATION_FAILED', `idType: unknown identifier type "${type}"; this project's identifier types are ${this.types.join(', ')}`);
    }
    const normalized = normalize(value);
    if (normalized === null) throw new CdpError('VALIDATION_FAILED', `idValue: ${JSON.stringify(value)} is not a usable ${type} (it normalizes to nothing)`);
    return { type, value: normalized };
  }

  /** What `cdp profile` takes: `type:value` (the first colon splits) or a profile id. */
  parse(text: string): ProfileRef {
    const colon = text.indexOf(':');
    const type = text.slice(0, colon);
    if (colon > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(type)) return this.identifier(type, text.slice(colon + 1));
    return { profileId: text };
  }
}

/** How an answer names the lookup: `email "jane@example.com"` or `id "p_123"`. */
export const describeRef = (ref: ProfileRef): string => ('profileId' in ref ? `id ${JSON.stringify(ref.profileId)}` : `${ref.type} ${JSON.stringify(ref.value)}`);

function normalizer(kind: Normalizer, defaultCountry: string | undefined): (value: string) => string | null {
  const type = kind === 'trim' ? 'custom' : kind;
  return (value) => normalizeIdentifier(type, value, { defaultCountry });
}
