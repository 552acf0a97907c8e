import type { ActionContext, DestinationDefinition, DestinationLogger, SyncMode, TestContext } from '../../src/destinations/destination-definition';
import { createHttpClient } from '../../src/destinations/http/http-client';

/** A logger that keeps every line, to assert on (and to check no secret leaks into one). */
export interface CapturedLogger extends DestinationLogger {
  lines: { level: string; obj: Record<string, unknown>; msg?: string }[];
  /** every line as one JSON text */
  text(): string;
}

export function captureLogger(): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), text: () => JSON.stringify(lines) };
}

/**
 * What the engine hands an action: settings and options parsed by the definition's schemas, a
 * real HTTP client, a captured logger. `secrets` defaults to none (the client adds writeOnly settings).
 */
export function actionContext<S>(
  definition: DestinationDefinition<S>,
  action: string,
  input: { settings: unknown; options?: unknown; sync?: Partial<ActionContext['sync']>; secrets?: string[]; timeoutMs?: number },
): ActionContext<S> & { logger: CapturedLogger } {
  const settings = definition.settings.parse(input.settings);
  const logger = captureLogger();
  const options = definition.actions[action].options.parse(input.options ?? {}) as Record<string, unknown>;
  const sync = { name: 'vip_customers', runId: 'run_0001', mode: 'upsert' as SyncMode, ...input.sync };
  const http = createHttpClient(definition, settings, { instance: 'test', logger, secrets: input.secrets ?? [], timeoutMs: input.timeoutMs });
  return { settings, options, sync, http, logger, state: {}, polling: { firstDelayMs: 5, maxDelayMs: 20, timeoutMs: 2_000 } };
}

/** What testConnection sees. */
export function testContext<S>(definition: DestinationDefinition<S>, settings: unknown): TestContext<S> & { logger: CapturedLogger } {
  const parsed = definition.settings.parse(settings);
  const logger = captureLogger();
  return { settings: parsed, logger, http: createHttpClient(definition, parsed, { instance: 'test', logger, secrets: [] }) };
}
