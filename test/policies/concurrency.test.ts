import { describe, expect, it } from 'vitest';
import { maxHedging } from '../../src/core/constants.ts';
import { StallError } from '../../src/errors/stall-error.ts';
import { UnexpectedResponseError } from '../../src/errors/unexpected-response-error.ts';
import {
	budgetLimit,
	CONFIRM_MS,
	type ConcurrencyBounds,
	ConcurrencyPolicy,
	efficiency,
	fitWithin,
	GROW_MEASURE_MS,
	HOLD_MEASURES,
	MAX_HOLD_MEASURES,
	MEASURE_MS,
	paidFor,
	pushbackOf,
	PUSHBACK_HOLD_MS,
	RESET_HOLD_MS,
	RESET_SHARE,
	RESET_WINDOW,
	START_CONCURRENCY,
	SUSPECT_HOLD_MS,
} from '../../src/core/policies/concurrency.ts';

/** A link as a function: bytes per ms received with `c` slots reading. */
type Link = (c: number) => number;

const bounds = (more: Partial<ConcurrencyBounds> = {}): ConcurrencyBounds => ({ min: 1, max: 64, onTop: () => 0, ...more });

/** Samples of `MEASURE_MS` (one measure each) at the link's pace; the targets after each, from `at`. */
function drive(policy: ConcurrencyPolicy, link: Link, samples: number, clock = { at: 0 }): number[] {
	const targets: number[] = [];
	for (let i = 0; i < samples; i++) {
		clock.at += MEASURE_MS;
		targets.push(policy.sample({ at: clock.at, ms: MEASURE_MS, bytes: link(policy.target) * MEASURE_MS, saturated: true }));
	}
	return targets;
}

/** The level held most of the time (probes aside). */
function held(targets: number[]): number {
	const counts = new Map<number, number>();
	for (const target of targets) counts.set(target, (counts.get(target) ?? 0) + 1);
	return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? Number.NaN;
}

/** Each connection capped at `per`, all of them together at `cap`. */
const capped =
	(per: number, cap = Number.POSITIVE_INFINITY): Link =>
	(c) =>
		Math.min(c * per, cap);

describe('ConcurrencyPolicy - growth', () => {
	it('starts at START_CONCURRENCY, within the bounds', () => {
		expect(new ConcurrencyPolicy(bounds()).target).toBe(START_CONCURRENCY);
		expect(new ConcurrencyPolicy(bounds()).reason).toBe('start');
		expect(new ConcurrencyPolicy(bounds({ min: 5 })).target).toBe(5);
		expect(new ConcurrencyPolicy(bounds({ max: 1 })).target).toBe(1);
	});

	it('doubles while each added connection brings its share, up to max: slow connections, no shared cap', () => {
		const policy = new ConcurrencyPolicy(bounds({ max: 40 }));
		// measure at 4, grow; settle, measure at 8, grow; ...
		expect(drive(policy, capped(5), 9)).toEqual([8, 8, 16, 16, 32, 32, 40, 40, 40]);
	});

	it('on a shared link, keeps the connections the last gain paid for: 20 per connection, 100 in all -> 5', () => {
		const policy = new ConcurrencyPolicy(bounds());
		// measure at 4, grow; settle; measure at 8 (too little), measure again (still); keep 5.
		const targets = drive(policy, capped(20, 100), 6);
		expect(targets).toEqual([8, 8, 8, 5, 5, 5]);
	});

	it('on a shared link that the start fills, goes back to the start: 40 per connection, 100 in all', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(drive(policy, capped(40, 100), 6)).toEqual([8, 8, 8, 4, 4, 4]);
	});

	it('in a browser that queues connections past 6, stops at 6: the ones past it add nothing', () => {
		const policy = new ConcurrencyPolicy(bounds());
		// 4 -> 8 brings half a connection's share each: keep what it paid for (6), probe up once
		// more at once (8, nothing), and hold at 6.
		const targets = drive(policy, capped(10, 60), 20);
		expect(targets.slice(0, 9)).toEqual([8, 8, 8, 6, 6, 8, 8, 6, 6]);
		expect(held(targets.slice(9))).toBe(6);
	});

	it('does not grow when a connection adds nothing (a link one connection fills)', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(drive(policy, () => 100, 5)).toEqual([8, 8, 8, 4, 4]);
	});

	it('decides a doubling on GROW_MEASURE_MS of samples, shorter than the MEASURE_MS of a held level', () => {
		const policy = new ConcurrencyPolicy(bounds());
		const half = GROW_MEASURE_MS / 2;
		expect(GROW_MEASURE_MS).toBeLessThan(MEASURE_MS);
		// Two samples of half a growth measure at 4: one measure, and it doubles.
		policy.sample({ at: half, ms: half, bytes: 40 * half, saturated: true });
		expect(policy.sample({ at: 2 * half, ms: half, bytes: 40 * half, saturated: true })).toBe(8);
	});

	it('counts no sample that is not saturated (the consumer set the pace), and restarts the measure', () => {
		const policy = new ConcurrencyPolicy(bounds());
		for (let at = 100; at < 5000; at += 100) policy.sample({ at, ms: 100, bytes: 1e6, saturated: false });
		expect(policy.target).toBe(START_CONCURRENCY);
		// Half a measure, then an unsaturated sample: the half is dropped.
		policy.sample({ at: 5100, ms: GROW_MEASURE_MS / 2, bytes: 1, saturated: true });
		policy.sample({ at: 5200, ms: 100, bytes: 0, saturated: false });
		expect(policy.sample({ at: 5400, ms: GROW_MEASURE_MS / 2, bytes: 1, saturated: true })).toBe(START_CONCURRENCY);
		expect(policy.sample({ at: 5600, ms: GROW_MEASURE_MS / 2, bytes: 1, saturated: true })).toBe(2 * START_CONCURRENCY);
	});

	it('measures a doubling that seemed to bring too little once more, and the better measure counts', () => {
		const policy = new ConcurrencyPolicy(bounds());
		drive(policy, capped(10), 2);
		expect(policy.target).toBe(8);
		// A busy machine slows one measure at 8 down to what 4 brought: not yet a verdict.
		expect(policy.sample({ at: 2000, ms: MEASURE_MS, bytes: 40 * MEASURE_MS, saturated: true })).toBe(8);
		expect(policy.sample({ at: 2400, ms: MEASURE_MS, bytes: 80 * MEASURE_MS, saturated: true })).toBe(16);
	});

	it('discards the first sample at a new level (its connections still opening)', () => {
		const policy = new ConcurrencyPolicy(bounds());
		drive(policy, capped(10), 1);
		expect(policy.target).toBe(8);
		// The settling sample says the 4 new connections brought nothing; it is not counted.
		policy.sample({ at: 1000, ms: MEASURE_MS, bytes: 40 * MEASURE_MS, saturated: true });
		expect(policy.sample({ at: 1400, ms: MEASURE_MS, bytes: 80 * MEASURE_MS, saturated: true })).toBe(16);
	});
});

describe('ConcurrencyPolicy - probes while holding', () => {
	it('probes a quarter more after HOLD_MEASURES, and reverts when they add nothing', () => {
		const link = capped(20, 100);
		const policy = new ConcurrencyPolicy(bounds());
		const clock = { at: 0 };
		drive(policy, link, 4, clock);
		expect(policy.target).toBe(5);
		// Holding at 5: the probe goes to 6, which adds nothing on this link: back to 5.
		const targets = drive(policy, link, HOLD_MEASURES + 3, clock);
		// A sample to settle at 5, HOLD_MEASURES measures, the probe's sample to settle, its measure.
		expect(targets).toEqual([...Array(HOLD_MEASURES).fill(5), 6, 6, 5]);
	});

	it('keeps probed connections that pay, and probes up again at once: the link opened up', () => {
		const policy = new ConcurrencyPolicy(bounds());
		const clock = { at: 0 };
		drive(policy, capped(20, 100), 4, clock);
		expect(policy.target).toBe(5);
		const targets = drive(policy, capped(20), 4 * (HOLD_MEASURES + 2), clock);
		// 5 -> 6 (kept) -> 8 (kept) -> 10 ...: each probe pays on a link without a shared cap.
		expect(targets.slice(HOLD_MEASURES, HOLD_MEASURES + 7)).toEqual([6, 6, 6, 8, 8, 8, 10]);
	});

	it('probes a quarter fewer, and keeps the lower count when the removed ones took nothing', () => {
		const policy = new ConcurrencyPolicy(bounds());
		const clock = { at: 0 };
		drive(policy, capped(10), 3, clock);
		expect(policy.target).toBe(16);
		// The link is now capped at 60: 16 connections is far too many; the policy comes down to 6.
		const targets = drive(policy, capped(10, 60), 20 * (HOLD_MEASURES + 2), clock);
		expect(held(targets.slice(-10 * (HOLD_MEASURES + 2)))).toBe(6);
	});

	it('reverts a probe down whose connections were needed', () => {
		const policy = new ConcurrencyPolicy(bounds({ max: 8 }));
		const clock = { at: 0 };
		drive(policy, capped(10), 8, clock);
		expect(policy.target).toBe(8);
		// At max, the up probe is skipped; then down to 6, which loses 2 x 10: back to 8.
		const targets = drive(policy, capped(10), 2 * HOLD_MEASURES + 4, clock);
		expect(targets).toContain(6);
		expect(targets.at(-1)).toBe(8);
	});
});

describe('ConcurrencyPolicy - a doubling measured twice', () => {
	/** At 4 then 8, the two measures at 8 as given (bytes per ms); the target they settle at. */
	function settleAfter(first: number, second: number): number {
		const policy = new ConcurrencyPolicy(bounds());
		const at8 = [40, 40, first, second];
		at8.forEach((pace, i) => policy.sample({ at: (i + 1) * MEASURE_MS, ms: MEASURE_MS, bytes: pace * MEASURE_MS, saturated: true }));
		expect(policy.reason).toBe('settle');
		return policy.target;
	}

	it('the better of the two decides, in either order (a busy machine only slows a measure down)', () => {
		// From 40 at 4 (10 per connection): 60 at 8 paid for 2 more, 50 for 1.
		expect(settleAfter(60, 50)).toBe(6);
		expect(settleAfter(50, 60)).toBe(6);
		expect(settleAfter(50, 50)).toBe(5);
	});
});

describe('ConcurrencyPolicy - the whole course, step by step', () => {
	/** Target and reason after each sample of `ms` on a link that 4 connections fill, or `later` from sample `from` on. */
	function course(ms: number, samples: number, later?: { from: number; link: Link }): string {
		const policy = new ConcurrencyPolicy(bounds());
		const steps: string[] = [];
		for (let i = 1; i <= samples; i++) {
			const link = later && i >= later.from ? later.link : capped(10, 40);
			policy.sample({ at: i * ms, ms, bytes: link(policy.target) * ms, saturated: true });
			steps.push(`${policy.target}:${policy.reason}`);
		}
		return steps.join(' ');
	}
	const repeat = (step: string, times: number) => Array.from({ length: times }, () => step).join(' ');

	it('measures of MEASURE_MS: doubles, doubts, settles, probes up and reverts, waits twice as long, probes down and reverts', () => {
		// One settling sample after each change; HOLD_MEASURES measures at a held level, doubled after a probe that changed nothing.
		expect(course(MEASURE_MS, 40)).toBe(
			[repeat('8:grow', 3), repeat('4:settle', 5), repeat('5:probe', 2), repeat('4:revert', 9), repeat('3:probe', 2), repeat('4:revert', 17), repeat('5:probe', 2)].join(' '),
		);
	});

	it('a link that grows while the level is held: the probe up is kept, and the next comes at once', () => {
		expect(course(MEASURE_MS, 16, { from: 6, link: capped(10) })).toBe([repeat('8:grow', 3), repeat('4:settle', 5), repeat('5:probe', 2), '5:keep', repeat('6:probe', 2), '6:keep', repeat('8:probe', 2)].join(' '));
	});

	it('a link that shrinks while the level is held: the probes down drop, one after the other, down to one that was needed', () => {
		expect(course(MEASURE_MS, 40, { from: 6, link: capped(10, 20) })).toBe([
				repeat('8:grow', 3),
				repeat('4:settle', 5),
				repeat('5:probe', 2),
				repeat('4:revert', 9),
				repeat('3:probe', 2),
				'3:drop',
				repeat('2:probe', 2),
				'2:drop',
				// At min the last probe down found the slot needed: back up, and probing up again.
				repeat('1:probe', 2),
				repeat('2:revert', 9),
				repeat('3:probe', 2),
				repeat('2:revert', 2),
			].join(' '));
	});

	// Chromium, over HTTP/1.1 at 1 MiB/s a connection: a 0.1 s measure is a handful of 64 KiB
	// pieces, one piece more or less at 8 than at 4 looked like a doubling that paid, and it
	// doubled past the 6 connections the browser opens.
	it('a measure spans `measureBytes` per slot at least, however long that takes', () => {
		const policy = new ConcurrencyPolicy(bounds({ measureBytes: 1000 }));
		const sample = (at: number, bytes: number) => policy.sample({ at, ms: GROW_MEASURE_MS, bytes, saturated: true });
		// One measure's time, but 3 of the 4 slots' 1000 bytes: not yet a measure.
		expect(sample(GROW_MEASURE_MS, 3000)).toBe(START_CONCURRENCY);
		expect(sample(2 * GROW_MEASURE_MS, 999)).toBe(START_CONCURRENCY);
		expect(sample(3 * GROW_MEASURE_MS, 1)).toBe(2 * START_CONCURRENCY);
	});

	it('samples of GROW_MEASURE_MS: one is a measure while doubling, MEASURE_MS / GROW_MEASURE_MS of them once the level is held', () => {
		const perMeasure = MEASURE_MS / GROW_MEASURE_MS;
		expect(perMeasure).toBe(4);
		expect(course(GROW_MEASURE_MS, 40)).toBe(
			[repeat('8:grow', 3), repeat('4:settle', 1 + HOLD_MEASURES * perMeasure), repeat('5:probe', 1 + perMeasure), repeat('4:revert', 15)].join(' '),
		);
	});
});

describe('ConcurrencyPolicy - pushback', () => {
	const hedged = bounds({ onTop: maxHedging });
	const refuse = (policy: ConcurrencyPolicy, at: number, accepted: number) => policy.pushback({ at, kind: 'throttled', accepted });
	const reset = (policy: ConcurrencyPolicy, at: number, accepted = 7) => policy.pushback({ at, kind: 'reset', accepted });

	/** At 8 after one doubling, its settling sample taken. */
	function at8(more: Partial<ConcurrencyBounds> = {}) {
		const policy = new ConcurrencyPolicy(bounds({ onTop: maxHedging, ...more }));
		const clock = { at: 0 };
		drive(policy, capped(10), 2, clock);
		expect(policy.target).toBe(8);
		return { policy, clock };
	}

	it('a lone 503 cuts nothing and holds growth for SUSPECT_HOLD_MS: a random fault looks like that', () => {
		const { policy, clock } = at8();
		const t0 = clock.at;
		expect(refuse(policy, t0, 4)).toBe(8);
		// A measure that would double, within the hold: no growth.
		expect(policy.sample({ at: t0 + SUSPECT_HOLD_MS - 1, ms: GROW_MEASURE_MS, bytes: 80 * GROW_MEASURE_MS, saturated: true })).toBe(8);
		expect(policy.sample({ at: t0 + SUSPECT_HOLD_MS + GROW_MEASURE_MS, ms: GROW_MEASURE_MS, bytes: 80 * GROW_MEASURE_MS, saturated: true })).toBe(16);
	});

	it('a second 503 within CONFIRM_MS cuts to what the server was serving, less what runs on top of the slots', () => {
		const { policy, clock } = at8();
		refuse(policy, clock.at, 4);
		// The server serves 4 at most: 4 answered when it refused; 3 slots + 1 on top fit in 4.
		expect(refuse(policy, clock.at + CONFIRM_MS - 1, 4)).toBe(3);
		expect(policy.reason).toBe('throttled');
	});

	it('a 503 after CONFIRM_MS is a lone one again', () => {
		const { policy, clock } = at8();
		refuse(policy, clock.at, 4);
		expect(refuse(policy, clock.at + CONFIRM_MS, 4)).toBe(8);
	});

	it('a 503 below what the server served at once since the lone one confirms nothing: the server had no such limit', () => {
		const { policy, clock } = at8();
		refuse(policy, clock.at, 1);
		policy.answered({ at: clock.at + 10, serving: 3 });
		expect(refuse(policy, clock.at + 20, 1)).toBe(8);
		// Nothing served since that one: the next refusal at 1 confirms it.
		expect(refuse(policy, clock.at + 30, 1)).toBe(1);
	});

	it('a cut is undone when the server then serves more at once than when it refused, growth and all', () => {
		const { policy, clock } = at8();
		refuse(policy, clock.at, 4);
		expect(refuse(policy, clock.at + 1, 4)).toBe(3);
		expect(policy.answered({ at: clock.at + 2, serving: 4 })).toBe(3);
		expect(policy.answered({ at: clock.at + 3, serving: 5 })).toBe(8);
		expect(policy.reason).toBe('undo');
		// Back to doubling, no hold left: a measure at 8 doubles.
		drive(policy, capped(10), 2, clock);
		expect(policy.target).toBe(16);
	});

	it('a cut during a probe up, then undone: the level is held, the next measures go on (they threw a TypeError: the probe had lost its base)', () => {
		const policy = new ConcurrencyPolicy(bounds());
		const clock = { at: 0 };
		// Settled at 4 on a link 4 connections fill, then probing up at 5.
		expect(drive(policy, capped(10, 40), 9, clock).at(-1)).toBe(5);
		expect(policy.reason).toBe('probe');
		expect(policy.pushback({ at: clock.at, kind: 'throttled', accepted: 4, retryAfter: 1000 })).toBe(4);
		expect(policy.answered({ at: clock.at + 1, serving: 5 })).toBe(5);
		expect(policy.reason).toBe('undo');
		const after = drive(policy, capped(10, 40), 2 * MAX_HOLD_MEASURES, clock);
		// Held at 5 for a full hold, then probing finds the knee again: 4 connections fill the link.
		expect(after.slice(0, HOLD_MEASURES)).toEqual(Array.from({ length: HOLD_MEASURES }, () => 5));
		expect(held(after)).toBe(4);
	});

	it('a Retry-After is the server saying so: it cuts at once', () => {
		const { policy, clock } = at8();
		expect(policy.pushback({ at: clock.at, kind: 'throttled', accepted: 4, retryAfter: 1000 })).toBe(3);
	});

	it('a Retry-After while the server was serving all the slots and what runs on top of them: one slot off', () => {
		const { policy, clock } = at8();
		// 8 slots + maxHedging(8) = 10 fit within 10: the fit cuts nothing, the refusal still does.
		expect(policy.pushback({ at: clock.at, kind: 'throttled', accepted: 10, retryAfter: 1000 })).toBe(7);
	});

	it('the other 503s of the same burst cut no further; a later one at the limit found neither, one below it takes one more off', () => {
		const { policy, clock } = at8();
		refuse(policy, clock.at, 4);
		policy.pushback({ at: clock.at, kind: 'throttled', accepted: 4 });
		expect(policy.target).toBe(3);
		expect(refuse(policy, clock.at + 1, 4)).toBe(3);
		// Later, at the limit found (a request on top of the slots went out early): no cut.
		expect(refuse(policy, clock.at + MEASURE_MS + 2, 4)).toBe(3);
		// Below it: the server serves fewer now.
		expect(refuse(policy, clock.at + 2 * MEASURE_MS + 3, 3)).toBe(2);
		expect(refuse(policy, clock.at + 3 * MEASURE_MS + 4, 2)).toBe(1);
		expect(refuse(policy, clock.at + 4 * MEASURE_MS + 5, 2)).toBe(1);
	});

	it('a 503 with nothing answered halves the slots, never below min', () => {
		const policy = new ConcurrencyPolicy(bounds({ min: 3 }));
		const clock = { at: 0 };
		drive(policy, capped(10), 3, clock);
		expect(policy.target).toBe(16);
		expect(refuse(policy, clock.at, 0)).toBe(16);
		expect(refuse(policy, clock.at + 1, 0)).toBe(8);
		expect(refuse(policy, clock.at + MEASURE_MS, 0)).toBe(4);
		expect(refuse(policy, clock.at + 2 * MEASURE_MS, 0)).toBe(3);
		expect(refuse(policy, clock.at + 3 * MEASURE_MS, 0)).toBe(3);
	});

	it('no growth while Retry-After runs (at least PUSHBACK_HOLD_MS), then growth again', () => {
		const policy = new ConcurrencyPolicy(hedged);
		const clock = { at: 0 };
		drive(policy, capped(10), 3, clock);
		const retryAfter = 3 * PUSHBACK_HOLD_MS;
		policy.pushback({ at: clock.at, kind: 'throttled', accepted: 4, retryAfter });
		const until = clock.at + retryAfter;
		const during: number[] = [];
		while (clock.at + MEASURE_MS < until) during.push(...drive(policy, capped(10), 1, clock));
		expect(Math.max(...during)).toBe(3);
		// Probes down meanwhile found every slot needed, so the next probe up waits longer.
		const after = drive(policy, capped(10), 2 * MAX_HOLD_MEASURES + 6, clock);
		expect(Math.max(...after)).toBeGreaterThan(3);
	});

	it('a reset among many answers takes nothing off: that connection failed, not the server', () => {
		const { policy, clock } = at8();
		for (let i = 0; i < 5; i++) policy.answered({ at: clock.at + i, serving: 8 });
		expect(reset(policy, clock.at + 10)).toBe(8);
		policy.answered({ at: clock.at + 11, serving: 8 });
		// 2 resets in the last RESET_WINDOW outcomes: under RESET_SHARE of them.
		expect(reset(policy, clock.at + 12)).toBe(8);
		expect(2).toBeLessThan(RESET_SHARE * RESET_WINDOW);
	});

	it('a reset among many answers holds nothing either: a measure right after it doubles', () => {
		const { policy, clock } = at8();
		for (let i = 0; i < 5; i++) policy.answered({ at: clock.at + i, serving: 8 });
		expect(reset(policy, clock.at + 10)).toBe(8);
		expect(policy.sample({ at: clock.at + 11, ms: GROW_MEASURE_MS, bytes: 80 * GROW_MEASURE_MS, saturated: true })).toBe(16);
	});

	it('resets count over the last RESET_WINDOW outcomes only: answers before them are forgotten', () => {
		const { policy, clock } = at8();
		for (let i = 0; i < 3 * RESET_WINDOW; i++) policy.answered({ at: clock.at + i, serving: 8 });
		const resets = Math.ceil(RESET_SHARE * RESET_WINDOW);
		const targets = Array.from({ length: resets }, (_, i) => reset(policy, clock.at + 100 + i));
		// Half of the last RESET_WINDOW: one slot off at the last of them.
		expect(targets.at(-1)).toBe(7);
	});

	it('growth held by a lone 503 comes back at SUSPECT_HOLD_MS exactly', () => {
		const { policy, clock } = at8();
		const t0 = clock.at;
		refuse(policy, t0, 4);
		expect(policy.sample({ at: t0 + SUSPECT_HOLD_MS, ms: GROW_MEASURE_MS, bytes: 80 * GROW_MEASURE_MS, saturated: true })).toBe(16);
	});

	it('resets that are RESET_SHARE of the outcomes take one slot off, once per burst, and hold growth for RESET_HOLD_MS', () => {
		const { policy, clock } = at8();
		// A lone reset: nothing yet.
		expect(reset(policy, clock.at)).toBe(8);
		expect(reset(policy, clock.at + 1)).toBe(7);
		expect(reset(policy, clock.at + 2, 6)).toBe(7);
		const during: number[] = [];
		const until = clock.at + RESET_HOLD_MS;
		while (clock.at + MEASURE_MS < until) during.push(...drive(policy, capped(10), 1, clock));
		expect(Math.max(...during)).toBe(7);
	});

	it('never goes below min nor above max', () => {
		const policy = new ConcurrencyPolicy(bounds({ min: 2, max: 5 }));
		expect(Math.max(...drive(policy, capped(10), 30))).toBe(5);
		for (let i = 0; i < 5; i++) policy.pushback({ at: 100_000 + i * 1000, kind: 'reset', accepted: 1 });
		expect(policy.target).toBe(2);
	});
});

describe('concurrency helpers', () => {
	it('efficiency - what each added connection brought, as a share of one before', () => {
		expect(efficiency({ concurrency: 2, throughput: 80 }, { concurrency: 4, throughput: 160 })).toBe(1);
		expect(efficiency({ concurrency: 2, throughput: 80 }, { concurrency: 4, throughput: 100 })).toBe(0.25);
		expect(efficiency({ concurrency: 8, throughput: 80 }, { concurrency: 6, throughput: 80 })).toBeCloseTo(0);
		expect(efficiency({ concurrency: 8, throughput: 80 }, { concurrency: 6, throughput: 60 })).toBe(1);
		// Nothing to divide by (the same level, or no throughput before): 1 for a gain, 0 otherwise.
		expect(efficiency({ concurrency: 4, throughput: 80 }, { concurrency: 4, throughput: 81 })).toBe(1);
		expect(efficiency({ concurrency: 4, throughput: 80 }, { concurrency: 4, throughput: 80 })).toBe(0);
		expect(efficiency({ concurrency: 4, throughput: 80 }, { concurrency: 4, throughput: 60 })).toBe(0);
		expect(efficiency({ concurrency: 4, throughput: 0 }, { concurrency: 8, throughput: 1 })).toBe(1);
		expect(efficiency({ concurrency: 4, throughput: 0 }, { concurrency: 8, throughput: 0 })).toBe(0);
	});

	it('paidFor - the connections a partial gain paid for, between the two levels', () => {
		expect(paidFor({ concurrency: 2, throughput: 80 }, { concurrency: 4, throughput: 100 })).toBe(3);
		expect(paidFor({ concurrency: 4, throughput: 40 }, { concurrency: 8, throughput: 60 })).toBe(6);
		expect(paidFor({ concurrency: 4, throughput: 40 }, { concurrency: 8, throughput: 30 })).toBe(4);
		expect(paidFor({ concurrency: 4, throughput: 40 }, { concurrency: 8, throughput: 400 })).toBe(8);
		// Nothing measured before: no pace to pay at, the level stays.
		expect(paidFor({ concurrency: 4, throughput: 0 }, { concurrency: 8, throughput: 10 })).toBe(4);
	});

	it('fitWithin - slots plus what runs on top of them within what the server accepts', () => {
		expect(fitWithin(4, maxHedging)).toBe(3);
		expect(fitWithin(10, maxHedging)).toBe(8);
		expect(fitWithin(9, maxHedging)).toBe(7);
		expect(fitWithin(4, () => 0)).toBe(4);
		expect(fitWithin(1, maxHedging)).toBe(1);
	});

	it('budgetLimit - one chunk of the budget per slot at least', () => {
		expect(budgetLimit(128 * 2 ** 20, 8 * 2 ** 20)).toBe(16);
		expect(budgetLimit(100, 8 * 2 ** 20)).toBe(1);
	});

	it('pushbackOf - 429 and 503 are throttling (Retry-After capped), network errors and short bodies resets, the rest nothing', () => {
		const status = (code: number, retryAfter?: number) => new UnexpectedResponseError('x', { status: code, retryable: true, ...(retryAfter === undefined ? {} : { retryAfter }) });
		expect(pushbackOf(status(503, 90_000), 5, 3, 60_000)).toEqual({ at: 5, kind: 'throttled', retryAfter: 60_000, accepted: 3 });
		expect(pushbackOf(status(429), 5, 3, 60_000)).toEqual({ at: 5, kind: 'throttled', retryAfter: undefined, accepted: 3 });
		expect(pushbackOf(new TypeError('fetch failed'), 5, 3, 60_000)).toMatchObject({ kind: 'reset' });
		expect(pushbackOf(new UnexpectedResponseError('short', { code: 'ERR_BODY_TOO_SHORT', retryable: true }), 5, 3, 60_000)).toMatchObject({ kind: 'reset' });
		expect(pushbackOf(status(500), 5, 3, 60_000)).toBeUndefined();
		expect(pushbackOf(new StallError(100, {}), 5, 3, 60_000)).toBeUndefined();
	});

	it('refuses bounds with min above max, or below 1', () => {
		expect(() => new ConcurrencyPolicy(bounds({ min: 5, max: 4 }))).toThrow(RangeError);
		expect(() => new ConcurrencyPolicy(bounds({ min: 0, max: 4 }))).toThrow('bad bounds 0..4');
	});

	it('a sample of no time counts nothing, whatever bytes it says', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(policy.sample({ at: 0, ms: 0, bytes: 10 ** 9, saturated: true })).toBe(4);
		// The measure at 4 is 40 bytes/ms, so 8 connections at 80 are in proportion: it doubles again.
		expect(drive(policy, capped(10), 3)).toEqual([8, 8, 16]);
	});
});

describe('ConcurrencyPolicy - pushback bookkeeping', () => {
	const limit = (policy: ConcurrencyPolicy, at: number, accepted: number) => policy.pushback({ at, kind: 'throttled', accepted, retryAfter: 0 });
	const reset = (policy: ConcurrencyPolicy, at: number) => policy.pushback({ at, kind: 'reset', accepted: 0 });
	/** Samples (one measure each, from `at`) until the target first changes: how many it took. */
	const untilChange = (policy: ConcurrencyPolicy, at: number, most = 64): number => {
		const start = policy.target;
		for (let i = 1; i <= most; i++) if (policy.sample({ at: at + i * MEASURE_MS, ms: MEASURE_MS, bytes: 10 * MEASURE_MS, saturated: true }) !== start) return i;
		return Number.NaN;
	};

	it('takes a reset exactly MEASURE_MS after a cut as a new cut', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3)).toBe(3);
		expect(reset(policy, 200)).toBe(3);
		expect(reset(policy, MEASURE_MS)).toBe(2);
	});

	it('cuts on a refusal without Retry-After while a cut holds, without waiting to confirm it', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3)).toBe(3);
		expect(policy.pushback({ at: 10_000, kind: 'throttled', accepted: 2 })).toBe(2);
	});

	it('cuts one more on a refusal below the limit found, when the slots already fit it', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3)).toBe(3);
		expect(reset(policy, 1000)).toBe(3);
		expect(reset(policy, 1100)).toBe(2);
		// 2 slots fit 2 served, but the server refused below the limit of 3: it came down.
		expect(limit(policy, 2000, 2)).toBe(1);
	});

	it('counts the next sample after a pushback that leaves the target as it was', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3)).toBe(3);
		// The first sample at 3 settles; the hold then lasts 2 * HOLD_MEASURES measures.
		policy.sample({ at: 400, ms: MEASURE_MS, bytes: 10 * MEASURE_MS, saturated: true });
		expect(limit(policy, 1000, 3)).toBe(3);
		// Refused at the limit: nothing new, but the hold doubles again, and no sample is dropped.
		expect(untilChange(policy, 1000)).toBe(4 * HOLD_MEASURES);
	});

	it('probes up first after a pushback, once the hold is over', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3)).toBe(3);
		const targets = drive(policy, capped(10), 1 + 2 * HOLD_MEASURES, { at: 0 });
		expect(targets.at(-1)).toBe(4);
	});

	it('probes up again at the lower bound, where a probe down has no room', () => {
		// 4 slots carry the whole link: every probe up is reverted, and at min there is none down.
		const policy = new ConcurrencyPolicy(bounds({ min: 4 }));
		const targets = drive(policy, capped(10, 40), 200);
		const probesUp = targets.filter((t, i) => t === 5 && targets[i - 1] === 4).length;
		expect(probesUp).toBeGreaterThan(1);
	});
});

describe('ConcurrencyPolicy - cuts, windows and exact shares', () => {
	const limit = (policy: ConcurrencyPolicy, at: number, accepted: number, retryAfter = 0) => policy.pushback({ at, kind: 'throttled', accepted, retryAfter });
	const reset = (policy: ConcurrencyPolicy, at: number, accepted = 0) => policy.pushback({ at, kind: 'reset', accepted });
	const table =
		(pace: Record<number, number>): Link =>
		(c) =>
			pace[c] ?? Number.NaN;
	const measure = (policy: ConcurrencyPolicy, at: number, perMs: number, ms = GROW_MEASURE_MS) => policy.sample({ at, ms, bytes: perMs * ms, saturated: true });

	it('takes a refusal at the limit found for no new cut: a reset soon after still cuts', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3)).toBe(3);
		expect(limit(policy, 1000, 3)).toBe(3);
		expect(reset(policy, 1100)).toBe(3);
		expect(reset(policy, 1200)).toBe(2);
	});

	it('records no cut for resets: an answer serving more undoes nothing', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(reset(policy, 0, 1)).toBe(4);
		expect(reset(policy, 100, 1)).toBe(3);
		expect(policy.answered({ at: 200, serving: 2 })).toBe(3);
	});

	it('records no cut for a refusal that tells nothing of what was served', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 0)).toBe(2);
		expect(policy.answered({ at: 100, serving: 1 })).toBe(2);
	});

	it('keeps the lowest limit and the target before the first cut across cuts', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3)).toBe(3);
		expect(limit(policy, 1000, 2)).toBe(2);
		// Serving 3 is more than the lowest limit, 2: the cuts are undone to where they began.
		expect(policy.answered({ at: 1100, serving: 3 })).toBe(4);
	});

	it(`weighs resets over the last ${RESET_WINDOW} outcomes, not fewer`, () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(reset(policy, 0)).toBe(4);
		for (let i = 1; i <= 4; i++) policy.answered({ at: i * 100, serving: 4 });
		expect(reset(policy, 1000)).toBe(4);
		expect(reset(policy, 2000)).toBe(4);
		// [reset, 4 answers, 3 resets]: half of the last eight.
		expect(reset(policy, 3000)).toBe(3);
	});

	it('keeps a long Retry-After hold through a reset after it', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3, 20_000)).toBe(3);
		expect(reset(policy, 100)).toBe(3);
		expect(reset(policy, 200)).toBe(3);
		expect(Math.max(...drive(policy, capped(10), 24, { at: 200 }))).toBe(3);
	});

	it('lets a probe up back to the refused level while the Retry-After hold lasts', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(limit(policy, 0, 3, 20_000)).toBe(3);
		expect(reset(policy, 1000)).toBe(3);
		expect(reset(policy, 1100)).toBe(2);
		expect(drive(policy, capped(10), 1 + 4 * HOLD_MEASURES, { at: 1100 })).toContain(3);
	});

	it('doubles again when each added connection brings exactly GROW_SHARE', () => {
		const policy = new ConcurrencyPolicy(bounds());
		expect(drive(policy, table({ 4: 40, 8: 70, 16: 140 }), 3)).toEqual([8, 8, 16]);
	});

	it('probes up at the next measure after a settle that gained exactly KEEP_SHARE', () => {
		const policy = new ConcurrencyPolicy(bounds());
		// 4 -> 8 gains 4 per added connection of 10: settles at 6, then probes up by 2.
		expect(drive(policy, table({ 4: 40, 8: 56, 6: 50 }), 6)).toEqual([8, 8, 8, 6, 6, 8]);
	});

	it('keeps a probe up whose connections bring exactly KEEP_SHARE', () => {
		const policy = new ConcurrencyPolicy(bounds());
		// Settles at 7 (a gain of 0.7 per added connection), probes to 9: 4 more bytes/ms per connection of 10.
		const targets = drive(policy, table({ 4: 40, 8: 68, 7: 70, 9: 78 }), 8);
		expect(targets).toEqual([8, 8, 8, 7, 7, 9, 9, 9]);
		expect(policy.reason).toBe('keep');
	});

	it('reverts a probe down whose removed connections took exactly KEEP_SHARE', () => {
		const policy = new ConcurrencyPolicy(bounds({ max: 8 }));
		const targets = drive(policy, table({ 4: 40, 8: 80, 6: 72 }), 13);
		expect(targets.slice(10)).toEqual([6, 6, 8]);
		expect(policy.reason).toBe('revert');
	});

	it('holds at the upper bound when a lone refusal comes there while doubling', () => {
		const policy = new ConcurrencyPolicy(bounds({ max: 8 }));
		expect(measure(policy, 200, 40)).toBe(8);
		expect(measure(policy, 400, 80)).toBe(8);
		expect(policy.pushback({ at: 500, kind: 'throttled', accepted: 7 })).toBe(8);
		// The measure at 8, inside the refusal's short hold: at the bound, it holds.
		expect(measure(policy, 600, 80)).toBe(8);
		// Held, a slower link changes nothing until a probe: no settle below the bound.
		expect(measure(policy, 800, 50)).toBe(8);
		expect(measure(policy, 1000, 50)).toBe(8);
	});
});
