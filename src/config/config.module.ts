import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { CdpConfig } from './config.schema';

export const CDP_CONFIG = Symbol('CDP_CONFIG');

/** Provides the validated config, loaded once before the app starts (so a bad file fails first). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: CdpConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: CDP_CONFIG, useValue: config }], exports: [CDP_CONFIG] };
  }
}
