import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminTokenService } from './admin-token.service';

/** Requires `Authorization: Bearer <admin token>` on management routes. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly tokens: AdminTokenService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !(await this.tokens.verify(match[1]))) {
      void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="cdp"');
      throw new UnauthorizedException(match ? 'the API token is not valid' : 'this route needs an admin API token: Authorization: Bearer <token>');
    }
    return true;
  }
}
