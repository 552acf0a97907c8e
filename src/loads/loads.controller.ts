import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { applyDecorators, BadRequestException, Controller, NotFoundException, Param, Post, Req, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AdminGuard } from '../auth/admin.guard';
import { ApiZodQuery, ApiZodResponse, ZodQuery } from '../server/zod-body';
import { SourcesRepository } from '../sources/sources.repository';
import { modelSchema } from '../warehouse/warehouse.factory';
import { Workspace } from '../workspace/workspace';
import { formatFromName, loadFile, LoadError, type FileFormat } from './file-loader';
import { loadOptionsSchema, loadResultSchema, type LoadOptions, type LoadResponse } from './loads.schemas';

/** The largest upload a load accepts (the rest of the API keeps Fastify's 1 MB body limit). */
export const MAX_UPLOAD_BYTES = 1024 ** 3;

const CONTENT_TYPES: Record<string, FileFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/tab-separated-values': 'tsv',
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
  'application/jsonlines': 'ndjson',
  'application/vnd.apache.parquet': 'parquet',
  'application/x-parquet': 'parquet',
  'application/parquet': 'parquet',
};

/** Marks a route whose body is a raw file, handed over as a stream (see registerUploadParsing). */
const RAW_UPLOAD = 'cdpRawUpload';
const UPLOAD_CONTENT_TYPE = 'application/x-cdp-upload';
const originalContentType = new WeakMap<object, string>();

/**
 * Upload routes get their body as a stream, whatever its Content-Type (a JSON file too, which the
 * app's JSON parser would otherwise parse, within its 1 MB limit): a preParsing hook gives their
 * requests a private content type whose parser hands over the stream. Other routes are untouched.
 * Hooks added before the app is ready apply to every route, so this runs from onModuleInit.
 */
export function registerUploadParsing(fastify: FastifyInstance): void {
  fastify.addContentTypeParser(UPLOAD_CONTENT_TYPE, (request, payload, done) => {
    const config = request.routeOptions.config as unknown as Record<string, unknown>;
    if (config[RAW_UPLOAD] !== true) {
      done(Object.assign(new Error(`unsupported Content-Type: ${UPLOAD_CONTENT_TYPE}`), { statusCode: 415 }), undefined);
      return;
    }
    done(null, payload);
  });
  fastify.addHook('preParsing', async (request, _reply, payload) => {
    const config = request.routeOptions.config as unknown as Record<string, unknown>;
    if (config[RAW_UPLOAD] === true) {
      originalContentType.set(request.raw, request.headers['content-type'] ?? '');
      request.headers['content-type'] = UPLOAD_CONTENT_TYPE;
    }
    return payload;
  });
}

const ApiUpload = () =>
  applyDecorators(
    RouteConfig({ [RAW_UPLOAD]: true }),
    ApiConsumes('text/csv', 'text/tab-separated-values', 'application/json', 'application/x-ndjson', 'application/vnd.apache.parquet', 'application/octet-stream'),
    ApiBody({ description: `the file itself (at most ${MAX_UPLOAD_BYTES / 1024 ** 3} GB)`, schema: { type: 'string', format: 'binary' } }),
    ApiZodQuery(loadOptionsSchema),
    ApiZodResponse(loadResultSchema, 'Loaded: the rows written, the table and its columns', 201),
  );

@ApiTags('loads')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api')
export class LoadsController {
  constructor(private readonly ws: Workspace) {}

  @Post('sources/:id/uploads')
  @ApiOperation({ summary: "Load a file (CSV, TSV, JSON, NDJSON, Parquet) uploaded for a source into a warehouse table; a malformed file is a 400 naming its line" })
  @ApiParam({ name: 'id', description: 'the source id' })
  @ApiUpload()
  async upload(@Param('id') id: string, @ZodQuery(loadOptionsSchema) options: LoadOptions, @Req() request: FastifyRequest): Promise<LoadResponse> {
    const source = await new SourcesRepository(this.ws.store).get(id);
    if (!source) throw new NotFoundException(`no source with id ${id}`);
    return this.load(request, options);
  }

  @Post('loads')
  @ApiOperation({ summary: 'Load a file (CSV, TSV, JSON, NDJSON, Parquet) into a warehouse table (what `cdp load` sends while the service runs)' })
  @ApiUpload()
  async loads(@ZodQuery(loadOptionsSchema) options: LoadOptions, @Req() request: FastifyRequest): Promise<LoadResponse> {
    return this.load(request, options);
  }

  /** The body to a temp file, loaded (one load at a time with other warehouse writes), the file removed. */
  private async load(request: FastifyRequest, options: LoadOptions): Promise<LoadResponse> {
    const contentType = (originalContentType.get(request.raw) ?? '').split(';')[0].trim().toLowerCase();
    const format = options.format ?? CONTENT_TYPES[contentType] ?? (options.filename ? formatFromName(options.filename) : undefined);
    if (!format) {
      throw new BadRequestException(
        `format: the Content-Type (${contentType || 'none'}) does not say what the file is; send text/csv, application/json, application/x-ndjson or application/vnd.apache.parquet, or give ?format=csv|tsv|json|ndjson|parquet`,
      );
    }
    const body = request.body;
    if (!(body instanceof Readable)) throw new BadRequestException('the request body must be the file');
    const dir = await mkdtemp(join(tmpdir(), 'cdp-upload-'));
    try {
      const path = join(dir, `upload.${format}`);
      await receive(body, path);
      const where = modelSchema(this.ws.config.warehouse);
      const result = await this.ws.exclusive(() =>
        loadFile(this.ws.warehouse, {
          path,
          table: options.table,
          schema: where.schema,
          database: where.database,
          format,
          mode: options.mode,
          key: options.key,
          displayName: options.filename ?? `upload.${format}`,
        }),
      );
      return { ...result, mode: options.mode };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Streams the body to `path`, at most MAX_UPLOAD_BYTES. */
async function receive(body: Readable, path: string): Promise<void> {
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES) callback(new LoadError(`the file is larger than the upload limit of ${MAX_UPLOAD_BYTES / 1024 ** 3} GB`));
      else callback(null, chunk);
    },
  });
  await pipeline(body, limit, createWriteStream(path));
}
