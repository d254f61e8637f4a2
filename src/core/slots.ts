import { maxHedging } from './constants.ts';

/**
 * What a request in flight counts against:
 * - `slot`: one of the `concurrency` slots, held by a run of chunks from its start to its end,
 *   through its retries and hedges (a stolen tail is a run too);
 * - `early`: a run whose slot was let go before it ended (overlap), still reading its last bytes;
 * - `detached`: a request its slot left behind because it went quiet (hedging), still in flight and
 *   still feeding its chunk should it wake up.
 */
export type Place = 'slot' | 'early' | 'detached';

/**
 * The bound on requests in flight, kept in one place. Invariants: `slot <= concurrency` (a run
 * starts only while `free`); `early + detached <= most` (a run is let go, or a request left behind,
 * only while `roomOnTop`); each run has at most one request of its own in flight, each request
 * left behind is one; so requests in flight never exceed `concurrency + maxHedging(concurrency)`.
 * A place is taken once and given back once, by whoever took it. Adaptive concurrency changes
 * `concurrency` (`resize`): runs above a lowered one end by themselves and none starts until
 * there is room, so requests in flight stay within the largest `concurrency` used plus its `most`.
 */
export class Slots {
	concurrency: number;
	/** Places on top of the slots, for `early` and `detached` together. */
	most: number;
	readonly #held: Record<Place, number> = { slot: 0, early: 0, detached: 0 };

	constructor(concurrency: number) {
		this.concurrency = concurrency;
		this.most = maxHedging(concurrency);
	}

	resize(concurrency: number): void {
		this.concurrency = concurrency;
		this.most = maxHedging(concurrency);
	}

	/** Runs holding a slot. */
	get running(): number {
		return this.#held.slot;
	}

	/** Requests in flight on top of the slots' own: left behind by hedging, or let go early (overlap). */
	get extra(): number {
		return this.#held.early + this.#held.detached;
	}

	get free(): boolean {
		return this.#held.slot < this.concurrency;
	}

	get roomOnTop(): boolean {
		return this.extra < this.most;
	}

	/** Nothing holds a place: every run and every request left behind has ended. */
	get idle(): boolean {
		return this.#held.slot + this.extra === 0;
	}

	take(place: Place): void {
		this.#held[place]++;
	}

	leave(place: Place): void {
		this.#held[place]--;
	}

	move(from: Place, to: Place): void {
		this.#held[from]--;
		this.#held[to]++;
	}
}
