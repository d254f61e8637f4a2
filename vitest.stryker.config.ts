import { defineConfig } from 'vitest/config';

/**
 * The node tests that import src/, for `npm run mutate` (Stryker). Not the browser or runtimes
 * projects, nor the tests that drive the built CLI, the benchmark or the demo: they run dist/ or
 * child processes, which mutants in src/ never reach.
 */
export default defineConfig({
	test: {
		include: ['test/**/*.test.ts'],
		// The fault schedules too: a fresh seed each run (a mutant's verdict must not depend on the
		// draw) and a minute or more per run.
		exclude: ['test/browser/**', 'test/runtimes/**', 'test/cli.test.ts', 'test/bench.test.ts', 'test/demo.test.ts', 'test/origin.test.ts', 'test/fault-schedules.test.ts'],
		environment: 'node',
		execArgv: ['--expose-gc'],
		testTimeout: 30_000,
		hookTimeout: 30_000,
	},
});
