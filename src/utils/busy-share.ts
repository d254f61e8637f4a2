/**
 * The share of recent time spent in some state (waiting, say), as an exponentially decaying
 * average: time `period` ms ago weighs 1/e as much as now. Starts at 0.
 */
export class BusyShare {
	readonly #period: number;
	#busy = 0;
	#at: number | undefined;

	constructor(period: number) {
		this.#period = period;
	}

	/** Records that the state lasted from `from` to `to` (ms, `performance.now()` times). */
	add(from: number, to: number): void {
		this.#decay(to);
		this.#busy += this.#weight(to - from);
	}

	/**
	 * The decayed busy time over the decayed total time, at `now`; with `busySince`, counting the
	 * state that has lasted since then and still does (not recorded).
	 */
	share(now: number, busySince?: number): number {
		this.#decay(now);
		const ongoing = busySince === undefined || busySince >= now ? 0 : this.#weight(now - busySince);
		return (this.#busy + ongoing) / this.#period;
	}

	/**
	 * The weight at its end of a stretch `ms` long: every moment of it decayed from then, exactly
	 * (a long wait counts as nearly a whole period, never less than a short one).
	 */
	#weight(ms: number): number {
		return this.#period * (1 - Math.exp(-ms / this.#period));
	}

	#decay(now: number): void {
		if (this.#at !== undefined && now > this.#at) this.#busy *= Math.exp(-(now - this.#at) / this.#period);
		this.#at = now;
	}
}
