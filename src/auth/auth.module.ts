import { Global, Module } from '@nestjs/common';
import { AdminGuard } from './admin.guard';
import { AdminTokenService } from './admin-token.service';

@Global()
@Module({ providers: [AdminTokenService, AdminGuard], exports: [AdminTokenService, AdminGuard] })
export class AuthModule {}
