/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts; resolves at once if
 * `early` aborts first. No timer or listener outlives it.
 */
export function delay(ms: number, signal: AbortSignal, early?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal.aborted) {
			reject(signal.reason);
			return;
		}
		if (early?.aborted) {
			resolve();
			return;
		}
		const done = (): void => {
			clearTimeout(timer);
			signal.removeEventListener('abort', onAbort);
			early?.removeEventListener('abort', onEarly);
		};
		const onAbort = (): void => {
			done();
			reject(signal.reason);
		};
		const onEarly = (): void => {
			done();
			resolve();
		};
		const timer = setTimeout(() => {
			done();
			resolve();
		}, ms);
		signal.addEventListener('abort', onAbort, { once: true });
		early?.addEventListener('abort', onEarly, { once: true });
	});
}

/**
 * Calls `onStall` once no `touch()` came for `ms`. One timer, re-armed lazily when it fires
 * rather than on every touch, so a busy body costs a clock read per piece and nothing more.
 */
export class Watchdog {
	#timer: ReturnType<typeof setTimeout> | undefined;
	#last = performance.now();
	readonly #ms: number;
	readonly #onStall: () => void;

	constructor(ms: number | false, onStall: () => void) {
		this.#ms = ms === false ? 0 : ms;
		this.#onStall = onStall;
		if (ms !== false) this.#arm(ms);
	}

	touch(): void {
		this.#last = performance.now();
	}

	stop(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	/** Arms it again after `stop()`, counting from now. */
	resume(): void {
		this.touch();
		if (this.#timer === undefined && this.#ms > 0) this.#arm(this.#ms);
	}

	#arm(wait: number): void {
		this.#timer = setTimeout(() => {
			const idle = performance.now() - this.#last;
			if (idle >= this.#ms) {
				this.#timer = undefined;
				this.#onStall();
			} else {
				this.#arm(this.#ms - idle);
			}
		}, wait);
	}
}

export const noop = (): void => {};
