import { applyDecorators, Body, BadRequestException, type PipeTransform } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import { z } from 'zod';

/** Validates a request body with a zod schema: a 400 that says which field is wrong and why. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.output<T> {
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: problems.join('; '), problems });
  }
}

/** The body parameter and its OpenAPI schema, both from one zod schema. */
export const ZodBody = <T extends z.ZodType>(schema: T) => Body(new ZodPipe(schema));

export const ApiZodBody = (schema: z.ZodType, description?: string) =>
  applyDecorators(ApiBody({ description, required: false, schema: z.toJSONSchema(schema, { io: 'input' }) as object }));
