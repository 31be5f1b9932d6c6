import { defineConfig } from 'vitest/config'

// Tests import the TypeScript sources of the workspace packages (the "source" export
// condition); subprocesses started by e2e tests run the built dist/ files.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/conformance/test/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
})
