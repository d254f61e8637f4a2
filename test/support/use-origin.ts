import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type Origin, startOrigin } from './origin.ts';

/**
 * One test origin for a file's tests: started before them, closed after them, its counts cleared
 * before each. Returns the origin itself (its members read once it has started).
 */
export function useOrigin(): Origin {
	let started: Origin | undefined;
	beforeAll(async () => {
		started = await startOrigin();
	});
	afterAll(async () => {
		await started?.close();
	});
	beforeEach(() => {
		started?.resetStats();
	});
	return new Proxy({} as Origin, {
		get(_, key) {
			if (started === undefined) throw new Error('the test origin is read before it has started (beforeAll)');
			const value: unknown = Reflect.get(started, key, started);
			return typeof value === 'function' ? value.bind(started) : value;
		},
	});
}
