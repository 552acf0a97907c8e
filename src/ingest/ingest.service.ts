import { randomUUID } from 'node:crypto';
import { BadRequestException, Inject, Injectable, UnauthorizedException, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CDP_CONFIG } from '../config/config.module';
import type { CdpConfig } from '../config/config.schema';
import { modelSchema } from '../warehouse/warehouse.factory';
import type { Relation } from '../warehouse/warehouse';
import { Workspace } from '../workspace/workspace';
import { SourcesService } from '../sources/sources.service';
import type { Source } from '../sources/sources.repository';
import { GroupCommitWriter } from './group-commit';
import { batchSchema, MAX_MESSAGE_BYTES, MESSAGE_TYPES, messageSchemas, type MessageType, type ParsedMessage } from './messages.schema';
import { RAW_EVENT_COLUMN_NAMES, rawEventsRelation, toRawEventRow } from './raw-events';

export interface MessageProblem {
  index?: number;
  messageId?: string;
  reason: string;
}

export interface IngestResult {
  accepted: number;
  problems: MessageProblem[];
}

/**
 * The Segment-compatible tracking API: write keys, validation, and group commit into cdp.raw_events.
 * A request is answered only after its events are committed. In a batch, valid messages are written
 * and invalid ones are named in a 400 (they are not retried by Segment SDKs, and nothing valid is lost).
 */
@Injectable()
export class IngestService implements OnModuleInit, BeforeApplicationShutdown {
  readonly relation: Relation;
  private writer!: GroupCommitWriter;
  /**
   * Messages committed, and messages refused as invalid (a batch whose envelope is invalid counts
   * as one), since the service started (GET /metrics).
   */
  readonly counts = { accepted: 0, rejected: 0 };

  constructor(
    @Inject(CDP_CONFIG) private readonly config: CdpConfig,
    private readonly ws: Workspace,
    private readonly sources: SourcesService,
  ) {
    this.relation = rawEventsRelation(config.ingest.schema, modelSchema(config.warehouse).database);
  }

  async onModuleInit(): Promise<void> {
    this.writer = new GroupCommitWriter(async (rows) => {
      const written = await this.ws.warehouse.append(this.relation, RAW_EVENT_COLUMN_NAMES, rows);
      this.ws.notifyEventsCommitted(written);
    }, this.config.ingest.max_buffered_events, this.config.ingest.flush_concurrency);
  }

  /** Waits for every acknowledged-to-be event to be written before the warehouse closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.writer?.close();
  }

  /** The source of the write key in `Authorization: Basic base64(writeKey:)`, or in the body's writeKey. */
  async authenticate(authorization: string | undefined, body: unknown): Promise<Source> {
    let key: string | undefined;
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      key = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    } else if (body && typeof body === 'object' && typeof (body as { writeKey?: unknown }).writeKey === 'string') {
      key = (body as { writeKey: string }).writeKey;
    }
    if (!key) throw new UnauthorizedException('a write key is required: HTTP Basic auth with the write key as the username, or "writeKey" in the body');
    const source = await this.sources.byWriteKey(key);
    if (!source) throw new UnauthorizedException('unknown write key');
    return source;
  }

  /** One message posted to /v1/<type>. */
  async single(type: MessageType, body: unknown, source: Source, bodyBytes: number): Promise<void> {
    const receivedAt = new Date();
    const parsed = parseMessage(type, body, bodyBytes > MAX_MESSAGE_BYTES);
    if ('reason' in parsed) {
      this.counts.rejected++;
      throw new BadRequestException({ statusCode: 400, success: false, message: `${type}: ${parsed.reason}`, errors: [{ reason: parsed.reason }] });
    }
    const committed = this.ws.eventsInFlight(receivedAt);
    try {
      await this.writer.submit([toRawEventRow(type, parsed.message, receivedAt, source.id, parsed.message.messageId ?? `api-${randomUUID()}`)]);
      this.counts.accepted++;
    } finally {
      committed();
    }
  }

  /** POST /v1/batch: the valid messages are committed; the invalid ones are returned as problems. */
  async batch(body: unknown, source: Source, bodyBytes: number): Promise<IngestResult> {
    const receivedAt = new Date();
    const envelope = batchSchema.safeParse(body);
    if (!envelope.success) {
      const reason = envelope.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      this.counts.rejected++;
      throw new BadRequestException({ statusCode: 400, success: false, message: `batch: ${reason}`, errors: [{ reason }] });
    }
    const { batch, sentAt, context, integrations } = envelope.data;
    const rows: unknown[][] = [];
    const problems: MessageProblem[] = [];
    batch.forEach((item, index) => {
      const raw = item as Record<string, unknown> | null;
      const type = raw && typeof raw === 'object' ? raw.type : undefined;
      const messageId = raw && typeof raw === 'object' && typeof raw.messageId === 'string' ? raw.messageId : undefined;
      if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
        problems.push({ index, messageId, reason: type === undefined ? 'type is required (track, identify, page, screen, group, alias)' : `unknown type ${JSON.stringify(type)}; use track, identify, page, screen, group or alias` });
        return;
      }
      const merged = { ...raw, sentAt: raw!.sentAt ?? sentAt, context: context || raw!.context ? { ...(context ?? {}), ...((raw!.context as object) ?? {}) } : undefined, integrations: raw!.integrations ?? integrations };
      const parsed = parseMessage(type as MessageType, merged, bodyBytes > MAX_MESSAGE_BYTES);
      if ('reason' in parsed) problems.push({ index, messageId, reason: parsed.reason });
      else rows.push(toRawEventRow(type as MessageType, parsed.message, receivedAt, source.id, parsed.message.messageId ?? `api-${randomUUID()}`));
    });
    this.counts.rejected += problems.length;
    if (rows.length) {
      const committed = this.ws.eventsInFlight(receivedAt);
      try {
        await this.writer.submit(rows);
        this.counts.accepted += rows.length;
      } finally {
        committed();
      }
    }
    return { accepted: rows.length, problems };
  }
}

/** Validates one message; `checkSize` when the request is big enough that a message could pass 32 KB. */
export function parseMessage(type: MessageType, raw: unknown, checkSize: boolean): { message: ParsedMessage } | { reason: string } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { reason: 'a message must be a JSON object' };
  if (checkSize) {
    const bytes = Buffer.byteLength(JSON.stringify(raw));
    if (bytes > MAX_MESSAGE_BYTES) return { reason: `message is ${Math.ceil(bytes / 1024)} KB; the limit is 32 KB` };
  }
  const result = messageSchemas[type].safeParse(raw);
  if (!result.success) {
    return { reason: result.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ') };
  }
  const message = result.data as ParsedMessage;
  if (message.userId == null && message.anonymousId == null) return { reason: 'userId or anonymousId is required' };
  if (type === 'alias' && message.userId == null) return { reason: 'userId is required for alias' };
  return { message };
}
