import { applyDecorators, Body, BadRequestException, Query, type PipeTransform } from '@nestjs/common';
import { ApiBody, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';

/** Validates a request body (or query string) with a zod schema: a 400 that says which field is wrong and why. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(
    private readonly schema: T,
    private readonly source: 'body' | 'query' = 'body',
  ) {}

  transform(value: unknown): z.output<T> {
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((i) =>
      this.source === 'query' && i.code === 'unrecognized_keys'
        ? `${i.keys.join(', ')}: unknown query parameter`
        : `${i.path.length ? i.path.join('.') : this.source}: ${i.message}`,
    );
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: problems.join('; '), problems });
  }
}

/** The body parameter and its OpenAPI schema, both from one zod schema. */
export const ZodBody = <T extends z.ZodType>(schema: T) => Body(new ZodPipe(schema));

/** The query string, validated by a zod object: a 400 naming each wrong parameter (an unknown one too). */
export const ZodQuery = <T extends z.ZodType>(schema: T) => Query(new ZodPipe(schema, 'query'));

/** One query parameter per field of a zod object, documented from the schema. */
export const ApiZodQuery = (schema: z.ZodType) => {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, s]) =>
      ApiQuery({ name, required: json.required?.includes(name) ?? false, description: s.description as string | undefined, schema: s }),
    ),
  );
};

export const ApiZodBody = (schema: z.ZodType, description?: string) =>
  applyDecorators(ApiBody({ description, required: false, schema: z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as object }));

/** An OpenAPI response documented from the zod schema the code's types come from. */
export const ApiZodResponse = (schema: z.ZodType, description = 'OK', status = 200) =>
  applyDecorators(ApiResponse({ status, description, schema: z.toJSONSchema(schema, { io: 'output', target: 'openapi-3.0', unrepresentable: 'any', override: dateAsString }) as object }));

/** Dates travel as ISO-8601 strings in JSON. */
function dateAsString(ctx: { zodSchema: { _zod: { def: { type: string } } }; jsonSchema: Record<string, unknown> }): void {
  if (ctx.zodSchema._zod.def.type === 'date') {
    ctx.jsonSchema.type = 'string';
    ctx.jsonSchema.format = 'date-time';
  }
}
