/**
 * Which timers the library has pending. setTimeout/clearTimeout (and the interval pair) are
 * wrapped while tracking is on; a timer counts as the library's when the frame that called
 * setTimeout is in one of `roots` (its sources, ky). Timers of the origin, of fetch (undici) and
 * of the test runner run in the same process and are told apart by that frame, so only the
 * library's are seen, whoever else is busy meanwhile.
 */
import { promisify } from 'node:util';

export interface PendingTimer {
	/** The caller's frame, `file:line:column`. */
	where: string;
	ms: number;
}

export interface TimerTracker {
	/** Library timers created and neither fired nor cleared yet. */
	pending(): PendingTimer[];
	/** Library timers created since tracking began (a check that the library's frames are recognised). */
	created(): number;
	/** Forgets the timers seen so far (a new run starts). */
	forget(): void;
	/** Puts the global functions back. */
	restore(): void;
}

type AnyFunction = (...args: unknown[]) => unknown;

function callerFrame(stack: string | undefined): string {
	// 0: "Error", 1: the wrapper, 2: the caller.
	const line = stack?.split('\n')[2] ?? '';
	const match = /\(([^()]+)\)\s*$/.exec(line) ?? /at\s+(\S+)\s*$/.exec(line);
	return match?.[1] ?? line.trim();
}

export function trackTimers(roots: readonly string[]): TimerTracker {
	const globals = globalThis as unknown as Record<string, AnyFunction>;
	const saved = {
		setTimeout: globals.setTimeout as AnyFunction,
		clearTimeout: globals.clearTimeout as AnyFunction,
		setInterval: globals.setInterval as AnyFunction,
		clearInterval: globals.clearInterval as AnyFunction,
	};
	const pending = new Map<unknown, PendingTimer>();
	let created = 0;
	const ours = (where: string): boolean => roots.some((root) => where.includes(root));

	function wrapSet(original: AnyFunction, once: boolean): AnyFunction {
		const wrapped = function (this: unknown, callback: unknown, ms?: unknown, ...args: unknown[]): unknown {
			const where = callerFrame(new Error().stack);
			if (typeof callback !== 'function' || !ours(where)) return original.call(this, callback, ms, ...args);
			let handle: unknown;
			const run = (...callArgs: unknown[]): unknown => {
				if (once) pending.delete(handle);
				return (callback as AnyFunction)(...callArgs);
			};
			handle = original.call(this, run, ms, ...args);
			pending.set(handle, { where, ms: Number(ms ?? 0) });
			created++;
			return handle;
		};
		// util.promisify(setTimeout) keeps working while tracking is on.
		const custom = (original as unknown as Record<symbol, unknown>)[promisify.custom];
		if (custom !== undefined) Object.defineProperty(wrapped, promisify.custom, { value: custom });
		return wrapped;
	}

	function wrapClear(original: AnyFunction): AnyFunction {
		return function (this: unknown, handle: unknown): unknown {
			if (handle !== undefined && handle !== null) {
				pending.delete(handle);
				// A primitive id (Node's Timeout converts to a number) names the same timer.
				if (typeof handle !== 'object') for (const key of pending.keys()) if (Number(key) === Number(handle)) pending.delete(key);
			}
			return original.call(this, handle);
		};
	}

	globals.setTimeout = wrapSet(saved.setTimeout, true);
	globals.clearTimeout = wrapClear(saved.clearTimeout);
	globals.setInterval = wrapSet(saved.setInterval, false);
	globals.clearInterval = wrapClear(saved.clearInterval);

	return {
		pending: () => [...pending.values()],
		forget: () => pending.clear(),
		created: () => created,
		restore(): void {
			Object.assign(globals, saved);
			pending.clear();
		},
	};
}
