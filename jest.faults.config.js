/**
 * The fault suite (`npm run test:faults`): each test file starts its own Redis,
 * Postgres, API nodes and worker as separate processes and breaks them. Kept
 * out of `npm test` (see jest.config.js), run by `.ci/run` as its own step.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  setupFiles: ['reflect-metadata'],
  testTimeout: 240000,
  maxWorkers: 1,
};
