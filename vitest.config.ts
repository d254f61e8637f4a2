import { defineConfig } from 'vitest/config';

export default defineConfig({
	test: {
		projects: [
			{
				test: {
					name: 'node',
					include: ['test/**/*.test.ts'],
					exclude: ['test/browser/**', 'test/runtimes/**'],
					environment: 'node',
					// global.gc() lets a regression test collect garbage where the bug needed it.
					execArgv: ['--expose-gc'],
					testTimeout: 30_000,
					hookTimeout: 30_000,
				},
			},
			{
				// Chromium driven with playwright-core from Node: the tests own both origins, the
				// service worker and the server's request log. Skipped (and said so) without a
				// browser, a failure under CI=true. Run after the node project and one file at a
				// time, so that a browser never competes with the timing-sensitive tests for CPU.
				test: {
					name: 'browser',
					include: ['test/browser/**/*.test.ts'],
					environment: 'node',
					testTimeout: 60_000,
					hookTimeout: 60_000,
					maxWorkers: 1,
					sequence: { groupOrder: 1 },
				},
			},
			{
				// Deno, Bun and Node as child processes, importing the built package by its name.
				test: {
					name: 'runtimes',
					include: ['test/runtimes/**/*.test.ts'],
					environment: 'node',
					testTimeout: 60_000,
					hookTimeout: 60_000,
					maxWorkers: 1,
					sequence: { groupOrder: 1 },
				},
			},
		],
	},
});
