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
 * The bounds on requests in flight, kept in one place (issue 13, decision 1). Invariants:
 * `slot <= concurrency` (a run starts only while `free`); `early <= concurrency` (a run is let go
 * only while `mayLetGo`); `detached <= most` (hedging leaves a request behind only while `detached < most`, see
 * `policies/hedging.ts`);
 * each run has at most one request of its own in flight, each request left behind is one. So
 * requests in flight never exceed `2 x concurrency + maxHedging(concurrency)`, and
 * `concurrency + maxHedging(concurrency)` with overlap off. `concurrency` counts connections
 * transferring: a run let go early reads its last bytes while its slot's next request waits for
 * its answer, which moves no byte until then. A place is taken once and given back once, by
 * whoever took it. Adaptive concurrency changes `concurrency` (`resize`): runs above a lowered
 * one end by themselves and none starts until there is room, so requests in flight stay within
 * the bounds of the largest `concurrency` used.
 */
export class Slots {
	concurrency: number;
	/** Requests left behind by hedging at most: the hedges' own allowance. */
	most: number;
	readonly #held: Record<Place, number> = { slot: 0, early: 0, detached: 0 };

	constructor(concurrency: number) {
		this.concurrency = concurrency;
		this.most = maxHedging(concurrency);
	}

	/** Adaptive concurrency's new target (see `policies/concurrency.ts`). */
	resize(concurrency: number): void {
		this.concurrency = concurrency;
		this.most = maxHedging(concurrency);
	}

	/** Runs holding a slot. */
	get running(): number {
		return this.#held.slot;
	}

	/**
	 * Runs still reading their own requests: holding a slot, or let go early (overlap). A request
	 * left behind by hedging is not one: it has been hedged already.
	 */
	get runs(): number {
		return this.#held.slot + this.#held.early;
	}

	/** Requests in flight on top of the slots' own: left behind by hedging, or let go early (overlap). */
	get extra(): number {
		return this.#held.early + this.#held.detached;
	}

	get free(): boolean {
		return this.#held.slot < this.concurrency;
	}

	/** Requests left behind by hedging, still in flight. */
	get detached(): number {
		return this.#held.detached;
	}

	/** A run may be let go early (overlap): at most one per slot reads its last bytes so. */
	get mayLetGo(): boolean {
		return this.#held.early < this.concurrency;
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
