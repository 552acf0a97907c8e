import type * as SnowflakeSdk from 'snowflake-sdk';

export type SnowflakeDriver = typeof SnowflakeSdk;

const LOG_LEVELS = ['OFF', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

let driver: Promise<SnowflakeDriver> | undefined;

/**
 * snowflake-sdk, loaded on first use (it pulls in the AWS, Azure and Google SDKs for its stage
 * transfers: seconds of startup an unused engine should not pay), and quietened:
 *
 * - its login telemetry probes the cloud metadata endpoints (AWS, Azure, GCP) and AWS STS when the
 *   module loads; SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true (the driver's own switch) skips that,
 *   unless the environment already says otherwise;
 * - its AWS SDK warns, once per process, that Node 20 support ends in 2027
 *   (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, likewise only when unset);
 * - its log goes to `snowflake.log` in the working directory and to the console at INFO by default:
 *   here it is off, and CDP_SNOWFLAKE_LOG_LEVEL (ERROR, WARN, INFO, DEBUG, TRACE) sends it to stderr.
 *   Errors reach the caller as WarehouseErrors either way.
 */
export function loadDriver(): Promise<SnowflakeDriver> {
  driver ??= (async () => {
    process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION ??= 'true';
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('snowflake-sdk');
    const wanted = (process.env.CDP_SNOWFLAKE_LOG_LEVEL ?? 'OFF').toUpperCase();
    const logLevel: LogLevel = (LOG_LEVELS as readonly string[]).includes(wanted) ? (wanted as LogLevel) : 'OFF';
    const write = (level: string) => (message: string) => process.stderr.write(`snowflake-sdk ${level}: ${message}\n`);
    sdk.configure({
      logLevel,
      customLogger: { error: write('ERROR'), warn: write('WARN'), info: write('INFO'), debug: write('DEBUG'), trace: write('TRACE') },
    });
    return sdk;
  })();
  return driver;
}
