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
		// The interval's own weight, decayed from its middle: exact enough for short intervals.
		this.#busy += (to - from) * Math.exp(-(to - from) / 2 / this.#period);
	}

	/** The decayed busy time over the decayed total time, at `now`. */
	share(now: number): number {
		this.#decay(now);
		return this.#busy / this.#period;
	}

	#decay(now: number): void {
		if (this.#at !== undefined && now > this.#at) this.#busy *= Math.exp(-(now - this.#at) / this.#period);
		this.#at = now;
	}
}
