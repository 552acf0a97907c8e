/** Tests in tiers: test/unit (no I/O), test/integration (DuckDB in-process, real Postgres), test/e2e (HTTP). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
    '/node_modules/content-disposition/.+\\.js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // content-disposition 3 (required by @fastify/static, which serves /docs) ships only ESM; Jest
  // cannot require() ESM on Node 20, so that one package is compiled to CommonJS for the tests.
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  testTimeout: 60000,
};
