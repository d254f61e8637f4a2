/**
 * Adaptive concurrency (`concurrency: 'auto'`, issue 16): how many slots read at once, decided
 * from what the download measures. It starts small and doubles while the aggregate throughput
 * rises almost in proportion (each added connection brings at least `GROW_SHARE` of what one
 * brought before); when a doubling brings less, measured twice (a busy machine only slows a
 * measure down: the better one counts), it keeps the connections the gain paid for and holds. While it holds it probes now and then, a quarter more or a quarter fewer, and keeps the
 * change when the added connections bring (or the removed ones took) at least `KEEP_SHARE` of a
 * connection's share, so a link whose capacity changes is followed both ways. "All requests
 * succeeding is no reason to add connections" (xet-core#930): only a measured gain is.
 *
 * The server's pushback wins over any measurement: a 429 or 503 confirmed as a limit cuts at
 * once to what the server was serving when it refused (the other requests in flight), less the
 * allowance on top of the slots, and growth waits out `Retry-After` (at least
 * `PUSHBACK_HOLD_MS`), and probes come less often after each. A random fault and a limit look
 * alike once; a limit repeats: a lone refusal only holds growth a little (`SUSPECT_HOLD_MS`), the
 * next within `CONFIRM_MS` confirms it unless the server served more at once in between, and a
 * cut is undone when the server later serves more at once than when it refused. A `Retry-After`
 * needs no confirming. A reset or refused connection takes one slot off when resets are a share
 * of the answers (`RESET_SHARE`), not one among many. The bounds are the caller's `{ min, max }`,
 * and `max` is also held to what the memory budget allows (`budgetLimit`).
 *
 * Pure: every input carries its own time (`at`), so the decisions are tests of their own with no
 * clock (test/policies/concurrency.test.ts). The engine feeds it and carries the target out.
 */

import {
	type Answer,
	budgetLimit,
	type ConcurrencyBounds,
	type ConcurrencyReason,
	efficiency,
	fitWithin,
	type Level,
	paidFor,
	type Pushback,
	pushbackOf,
	type ThroughputSample,
} from './concurrency-inputs.ts';

export { type Answer, budgetLimit, type ConcurrencyBounds, type ConcurrencyReason, efficiency, fitWithin, paidFor, type Pushback, pushbackOf, type ThroughputSample };

/** Each connection added while doubling must bring at least this share of what one brought before. */
export const GROW_SHARE = 0.75;
/** A probe's connections are kept (or a probe's removal undone) from this share of a connection's pace on. */
export const KEEP_SHARE = 0.4;
/** Where the slots start. */
export const START_CONCURRENCY = 4;
/** Throughput is measured over at least this many ms at each level, after one sample to settle. */
export const MEASURE_MS = 400;
/** While doubling, over this many: the way up is where a short download spends its time. */
export const GROW_MEASURE_MS = 100;
/**
 * Measurements at a held level between two probes: `HOLD_MEASURES`, doubled after each probe that
 * changed nothing (a stable link pays for fewer of them), up to `MAX_HOLD_MEASURES`.
 */
export const HOLD_MEASURES = 4;
export const MAX_HOLD_MEASURES = 32;
/** After a 429 or 503, no growth for this long at least (or the server's `Retry-After`, if longer). */
export const PUSHBACK_HOLD_MS = 3_000;
/** After a reset or refused connection, no growth for this long. */
export const RESET_HOLD_MS = 2_000;
/**
 * A lone 429 or 503 (none before it within `CONFIRM_MS`, no `Retry-After`) may be a random fault
 * rather than a limit: it holds growth for `SUSPECT_HOLD_MS` and cuts nothing. A second one
 * within `CONFIRM_MS` (a limit refuses the retry too) cuts.
 */
export const SUSPECT_HOLD_MS = 200;
export const CONFIRM_MS = 3_000;
/**
 * Resets are pushback only when they are a share of the answers: at least `RESET_SHARE` of the
 * last `RESET_WINDOW` outcomes (answers and resets), two at least. One reset among many answers
 * is a fault of that connection, not a limit.
 */
export const RESET_WINDOW = 8;
export const RESET_SHARE = 0.5;

type Phase = 'doubling' | 'hold' | 'probe-up' | 'probe-down';

export class ConcurrencyPolicy {
	readonly #bounds: ConcurrencyBounds;
	#target: number;
	#reason: ConcurrencyReason = 'start';
	#phase: Phase = 'doubling';
	/** The level before the step being measured. */
	#base: Level | undefined;
	/** The next sample is the first at a new level: connections still opening; not counted. */
	#settling = false;
	#measured = { ms: 0, bytes: 0 };
	#holds = 0;
	#holdFor = HOLD_MEASURES;
	#nextProbe: 'up' | 'down' = 'up';
	/** No growth before this time (pushback), nor past `#ceiling` then. */
	#quietUntil = Number.NEGATIVE_INFINITY;
	#ceiling: number;
	#lastCutAt = Number.NEGATIVE_INFINITY;
	/** A doubling that seemed to bring too little, measured once more before it counts. */
	#doubt: Level | undefined;
	/** When a lone 429 or 503 came, not yet taken for a limit (see `SUSPECT_HOLD_MS`). */
	#suspectAt = Number.NEGATIVE_INFINITY;
	/** The most answers the server served at once since then. */
	#servedSince = 0;
	/**
	 * The last cut for a 429 or 503: the fewest requests the server was serving when it refused,
	 * and the target and phase before. Undone when the server serves more than `limit` at once.
	 */
	#cut: { limit: number; before: number; phase: Phase } | undefined;
	/** The last `RESET_WINDOW` outcomes: true for a reset, false for an answer. */
	#outcomes: boolean[] = [];

	constructor(bounds: ConcurrencyBounds) {
		if (!(bounds.min >= 1 && bounds.max >= bounds.min)) throw new RangeError(`bad bounds ${bounds.min}..${bounds.max}`);
		this.#bounds = bounds;
		this.#ceiling = bounds.max;
		this.#target = Math.min(bounds.max, Math.max(bounds.min, START_CONCURRENCY));
	}

	/** Slots to read with now. */
	get target(): number {
		return this.#target;
	}

	/** Why the target last changed. */
	get reason(): ConcurrencyReason {
		return this.#reason;
	}

	/** One interval's throughput; returns the target. */
	sample(sample: ThroughputSample): number {
		if (!sample.saturated || sample.ms <= 0) {
			// Not the link's pace: whatever was gathered at this level starts over.
			this.#measured = { ms: 0, bytes: 0 };
			return this.#target;
		}
		if (this.#settling) {
			this.#settling = false;
			return this.#target;
		}
		this.#measured.ms += sample.ms;
		this.#measured.bytes += sample.bytes;
		if (this.#measured.ms < (this.#phase === 'doubling' ? GROW_MEASURE_MS : MEASURE_MS)) return this.#target;
		if (this.#measured.bytes < this.#target * (this.#bounds.measureBytes ?? 0)) return this.#target;
		const level: Level = { concurrency: this.#target, throughput: this.#measured.bytes / this.#measured.ms };
		this.#measured = { ms: 0, bytes: 0 };
		this.#decide(level, sample.at);
		return this.#target;
	}

	/**
	 * A range answer came and passed its checks; returns the target. Serving more at once than
	 * when a 429 or 503 was taken for a limit, the server had no such limit: the cut is undone.
	 */
	answered(event: Answer): number {
		this.#outcome(false);
		this.#servedSince = Math.max(this.#servedSince, event.serving);
		const cut = this.#cut;
		if (cut === undefined || event.serving <= cut.limit) return this.#target;
		this.#cut = undefined;
		this.#ceiling = this.#bounds.max;
		this.#quietUntil = Number.NEGATIVE_INFINITY;
		// A probe measured against the level before the cut has lost its base: it is dropped, the level held.
		this.#phase = cut.phase === 'doubling' ? 'doubling' : 'hold';
		this.#base = undefined;
		this.#doubt = undefined;
		this.#holds = 0;
		this.#set(Math.min(this.#bounds.max, Math.max(this.#target, cut.before)), 'undo');
		return this.#target;
	}

	/** The server refused a request or dropped a connection; returns the target. */
	pushback(event: Pushback): number {
		const { min } = this.#bounds;
		const recent = event.at - this.#lastCutAt < MEASURE_MS;
		let to: number;
		if (event.kind === 'reset') {
			this.#outcome(true);
			const resets = this.#outcomes.filter(Boolean).length;
			// One reset among many answers: that connection's fault, not the server's limit.
			if (resets < 2 || resets < RESET_SHARE * this.#outcomes.length) return this.#target;
		} else if (event.retryAfter === undefined && this.#cut === undefined && !this.#confirms(event)) {
			// A lone refusal: a limit refuses the retry too, a random fault does not. Hold growth meanwhile.
			this.#suspectAt = event.at;
			this.#servedSince = 0;
			this.#quietUntil = Math.max(this.#quietUntil, event.at + SUSPECT_HOLD_MS);
			this.#ceiling = Math.min(this.#ceiling, this.#target);
			return this.#target;
		}
		const before = this.#target;
		const phase = this.#phase;
		if (event.kind === 'throttled') {
			// What the server served when it said no, less what may run on top of the slots; the
			// requests sent before an earlier cut reached the server are answered the same way,
			// so they cut no further than that.
			const fit = event.accepted > 0 ? fitWithin(event.accepted, this.#bounds.onTop) : Math.floor(this.#target / 2);
			to = Math.min(this.#target, fit);
			// Refused at the limit already found (a request on top of the slots went out early):
			// the slots fit, the refusal says nothing new. Below it, the limit came down.
			const atLimit = this.#cut !== undefined && event.accepted >= this.#cut.limit;
			if (to === this.#target && !recent && !atLimit) to--;
			this.#ceiling = Math.max(min, to);
			this.#quietUntil = Math.max(this.#quietUntil, event.at + Math.max(PUSHBACK_HOLD_MS, event.retryAfter ?? 0));
		} else {
			to = recent ? this.#target : this.#target - 1;
			this.#quietUntil = Math.max(this.#quietUntil, event.at + RESET_HOLD_MS);
		}
		if (to < this.#target) this.#lastCutAt = event.at;
		if (event.kind === 'throttled' && event.accepted > 0) {
			const cut = this.#cut;
			this.#cut = cut === undefined ? { limit: event.accepted, before, phase } : { ...cut, limit: Math.min(cut.limit, event.accepted) };
		}
		this.#phase = 'hold';
		this.#doubt = undefined;
		this.#holds = 0;
		// A server that keeps refusing what the probes add is probed less and less often.
		this.#holdFor = Math.min(MAX_HOLD_MEASURES, 2 * this.#holdFor);
		this.#base = undefined;
		this.#nextProbe = 'up';
		this.#set(Math.max(min, to), event.kind);
		return this.#target;
	}

	/**
	 * A refusal confirms the lone one before it as a limit when it came within `CONFIRM_MS` and
	 * the server has not served more at once since than it was serving when it refused.
	 */
	#confirms(event: Pushback): boolean {
		return event.at - this.#suspectAt < CONFIRM_MS && event.accepted >= this.#servedSince;
	}

	#outcome(reset: boolean): void {
		this.#outcomes.push(reset);
		if (this.#outcomes.length > RESET_WINDOW) this.#outcomes.shift();
	}

	#mayGrow(at: number): boolean {
		if (at >= this.#quietUntil) this.#ceiling = this.#bounds.max;
		return this.#target < this.#ceiling;
	}

	#decide(level: Level, at: number): void {
		const { min } = this.#bounds;
		const base = this.#base;
		switch (this.#phase) {
			case 'doubling': {
				if (base !== undefined && efficiency(base, level) < GROW_SHARE) {
					// A busy machine only ever slows a measure down: the better of two decides.
					if (this.#doubt === undefined) {
						this.#doubt = level;
						return;
					}
					// Both fell short against the same base, so the better one does too: it settles.
					if (this.#doubt.throughput > level.throughput) level = this.#doubt;
					this.#doubt = undefined;
					const share = efficiency(base, level);
					this.#hold();
					this.#set(paidFor(base, level), 'settle');
					// Still a real gain: probe up again at the next turn rather than after a hold.
					if (share >= KEEP_SHARE) this.#holds = this.#holdFor - 1;
					return;
				}
				this.#doubt = undefined;
				this.#grow(level, at);
				return;
			}
			case 'hold': {
				if (++this.#holds < this.#holdFor) return;
				this.#holds = 0;
				const step = Math.max(1, Math.round(this.#target / 4));
				const up = this.#nextProbe === 'up';
				this.#nextProbe = up ? 'down' : 'up';
				if (up && this.#mayGrow(at)) {
					this.#base = level;
					this.#phase = 'probe-up';
					this.#set(Math.min(this.#ceiling, this.#target + step), 'probe');
				} else if (!up && this.#target > min) {
					this.#base = level;
					this.#phase = 'probe-down';
					this.#set(Math.max(min, this.#target - step), 'probe');
				}
				return;
			}
			case 'probe-up': {
				const kept = base !== undefined && efficiency(base, level) >= KEEP_SHARE;
				this.#hold();
				if (kept) {
					this.#holdFor = HOLD_MEASURES;
					// Worth it: probe up again at the next turn.
					this.#nextProbe = 'up';
					this.#holds = this.#holdFor - 1;
					this.#reason = 'keep';
				} else {
					this.#nextProbe = 'down';
					this.#set((base as Level).concurrency, 'revert');
					this.#holdFor = Math.min(MAX_HOLD_MEASURES, 2 * this.#holdFor);
				}
				return;
			}
			case 'probe-down': {
				// Going down, efficiency is what each removed connection took.
				const needed = base !== undefined && efficiency(base, level) >= KEEP_SHARE;
				this.#hold();
				if (needed) {
					this.#nextProbe = 'up';
					this.#set((base as Level).concurrency, 'revert');
					this.#holdFor = Math.min(MAX_HOLD_MEASURES, 2 * this.#holdFor);
				} else {
					this.#holdFor = HOLD_MEASURES;
					this.#nextProbe = 'down';
					this.#holds = this.#holdFor - 1;
					this.#reason = 'drop';
				}
				return;
			}
		}
	}

	/** Doubles from `level`, within the ceiling; holds there when there is no room (waits, while a pushback holds growth). */
	#grow(level: Level, at: number): void {
		if (!this.#mayGrow(at)) {
			// Held by a pushback while doubling: the next measure decides again, against the same base.
			if (at < this.#quietUntil && this.#target < this.#bounds.max) return;
			this.#hold();
			return;
		}
		this.#base = level;
		this.#set(Math.min(this.#ceiling, 2 * this.#target), 'grow');
	}

	#hold(): void {
		this.#phase = 'hold';
		this.#holds = 0;
		this.#base = undefined;
	}

	#set(target: number, reason: ConcurrencyReason): void {
		this.#reason = reason;
		if (target === this.#target) return;
		this.#target = target;
		this.#settling = true;
		this.#measured = { ms: 0, bytes: 0 };
	}
}
