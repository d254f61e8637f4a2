// Mutation testing (`npm run mutate`): each mutant of src/ is run against the node tests that
// cover it (vitest.stryker.config.ts). Incremental: a rerun tests only the mutants whose code or
// covering tests changed. Not part of `npm test`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
	testRunner: 'vitest',
	vitest: { configFile: 'vitest.stryker.config.ts', related: false, pool: 'forks' },
	mutate: ['src/http/**/*.ts', 'src/errors/**/*.ts', 'src/core/**/*.ts'],
	coverageAnalysis: 'perTest',
	incremental: true,
	incrementalFile: 'reports/stryker-incremental.json',
	reporters: ['clear-text', 'progress', 'html', 'json'],
	htmlReporter: { fileName: 'reports/mutation/index.html' },
	jsonReporter: { fileName: 'reports/mutation/mutation.json' },
	tempDirName: '.stryker-tmp',
	cleanTempDir: 'always',
	// One test process: the machine is shared. More with `npm run mutate -- --concurrency N`.
	concurrency: 1,
	timeoutMS: 10_000,
	// No TypeScript checker (it needs the classic compiler API, which TypeScript 7 does not have),
	// and no tsconfig rewriting for the sandbox (same reason; the tsconfig has no relative
	// `extends` or `references` to rewrite): a name that matches no file turns it off.
	tsconfigFile: 'no-tsconfig-rewrite.json',
};
