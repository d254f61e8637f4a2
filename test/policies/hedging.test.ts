import { describe, expect, it } from 'vitest';
import { HEDGES_PER_CHUNK, MAX_HEDGE_AFTER, MAX_HEDGES_PER_CHUNK } from '../../src/core/constants.ts';
import { afterFalseAlarm, afterHedgeWon, checkEvery, type HedgeView, hedgeBudget, headersDelay, type QuietChunk, quietBeforeHedge, stalled } from '../../src/core/policies/hedging.ts';
import type { RequestState } from '../../src/core/request.ts';

interface FakeChunk extends QuietChunk {
	name: string;
	request?: FakeRequest;
}
interface FakeRequest {
	state: RequestState;
}

/** A chunk quiet for `quietFor` ms at `now` = 1000, read by a slot's request unless `more` says otherwise. */
const chunk = (name: string, quietFor: number, more: Partial<FakeChunk> = {}): FakeChunk => ({
	name,
	done: false,
	hedged: 0,
	lastProgressAt: 1000 - quietFor,
	request: { state: 'reading' },
	...more,
});

function view(chunks: FakeChunk[], more: Partial<HedgeView<FakeChunk, FakeRequest>> = {}): HedgeView<FakeChunk, FakeRequest> {
	return {
		now: 1000,
		after: 100,
		headersDelay: 300,
		hedges: 0,
		budget: 10,
		extra: 0,
		most: 2,
		chunks,
		slotRequest: (c) => c.request,
		...more,
	};
}

const decided = (chunks: FakeChunk[], more?: Partial<HedgeView<FakeChunk, FakeRequest>>) =>
	stalled(view(chunks, more)).map((hedge) => [hedge.chunk.name, hedge.leave ? 'leave' : 'restart']);

describe('stalled (hedging)', () => {
	it('hedges a chunk a slot reads once it has been quiet for the hedge delay, not sooner', () => {
		expect(decided([chunk('a', 100), chunk('b', 99)])).toEqual([['a', 'leave']]);
	});

	it('leaves quiet requests behind while there is room on top of the slots, then restarts them; room counts the ones just left', () => {
		expect(decided([chunk('a', 500), chunk('b', 500), chunk('c', 500)], { extra: 1 })).toEqual([
			['a', 'leave'],
			['b', 'restart'],
			['c', 'restart'],
		]);
	});

	it('never hedges a done chunk, one hedged the most times already, or one no slot reads', () => {
		const chunks = [chunk('done', 500, { done: true }), chunk('most', 60_000, { hedged: MAX_HEDGES_PER_CHUNK }), chunk('unread', 500, { request: undefined })];
		expect(decided(chunks)).toEqual([]);
	});

	it('hedges a chunk whose hedges went quiet too again, after twice as long each time, up to MAX_HEDGES_PER_CHUNK', () => {
		expect(HEDGES_PER_CHUNK).toBe(2);
		expect(MAX_HEDGES_PER_CHUNK).toBe(4);
		expect([0, 1, 2, 3, 4, 5].map((hedged) => quietBeforeHedge(100, hedged))).toEqual([100, 100, 200, 400, Infinity, Infinity]);
		const twice = { hedged: HEDGES_PER_CHUNK };
		expect(decided([chunk('a', 199, twice), chunk('b', 200, twice), chunk('c', 399, { hedged: 3 }), chunk('d', 400, { hedged: 3 })])).toEqual([
			['b', 'leave'],
			['d', 'leave'],
		]);
	});

	it('gives a request still waiting for its headers the longer headers delay', () => {
		const waiting = { request: { state: 'waiting' as const } };
		expect(decided([chunk('a', 299, waiting), chunk('b', 300, waiting)])).toEqual([['b', 'leave']]);
	});

	it('stops at the budget, counting the hedges made before', () => {
		expect(decided([chunk('a', 500), chunk('b', 500), chunk('c', 500)], { hedges: 8, most: 5 })).toEqual([
			['a', 'leave'],
			['b', 'leave'],
		]);
	});
});

describe('hedging limits', () => {
	it('hedgeBudget - `hedge.max` when given, else a quarter of the chunks and at least `concurrency`', () => {
		expect(hedgeBudget(3, 8, 100)).toBe(3);
		expect(hedgeBudget(undefined, 8, 100)).toBe(25);
		expect(hedgeBudget(undefined, 8, 10)).toBe(8);
		expect(hedgeBudget(undefined, 4, undefined)).toBe(4);
	});

	it('hedgeBudget - a hedge that won does not use the default budget up; `hedge.max` stays a hard bound', () => {
		expect(hedgeBudget(undefined, 8, 32, 5)).toBe(13);
		expect(hedgeBudget(undefined, 8, 100, 1)).toBe(26);
		expect(hedgeBudget(3, 8, 100, 5)).toBe(3);
	});

	it('afterHedgeWon - halves the hedge delay after false alarms raised it, down to the initial delay', () => {
		expect(afterHedgeWon(800, 100)).toBe(400);
		expect(afterHedgeWon(150, 100)).toBe(100);
		expect(afterHedgeWon(100, 100)).toBe(100);
	});

	it('headersDelay - the hedge delay, or 3 x the time to first byte when that is longer', () => {
		expect(headersDelay(100, undefined)).toBe(100);
		expect(headersDelay(100, 20)).toBe(100);
		expect(headersDelay(100, 50)).toBe(150);
	});

	it('afterFalseAlarm - doubles the hedge delay up to MAX_HEDGE_AFTER', () => {
		expect(afterFalseAlarm(100)).toBe(200);
		expect(afterFalseAlarm(MAX_HEDGE_AFTER / 2 + 1)).toBe(MAX_HEDGE_AFTER);
		expect(afterFalseAlarm(MAX_HEDGE_AFTER)).toBe(MAX_HEDGE_AFTER);
	});

	it('checkEvery - a quarter of the hedge delay, at least 10 ms', () => {
		expect(checkEvery(100)).toBe(25);
		expect(checkEvery(20)).toBe(10);
	});
});
