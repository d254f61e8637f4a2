/** Waits `ms`, or rejects with the signal's reason as soon as it aborts; the timer never outlives it. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal.aborted) {
			reject(signal.reason);
			return;
		}
		const onAbort = (): void => {
			clearTimeout(timer);
			reject(signal.reason);
		};
		const timer = setTimeout(() => {
			signal.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		signal.addEventListener('abort', onAbort, { once: true });
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
