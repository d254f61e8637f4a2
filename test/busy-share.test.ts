import { describe, expect, it } from 'vitest';
import { BusyShare } from '../src/utils/busy-share.ts';

describe('BusyShare', () => {
	it('starts at 0, rises with busy time, and forgets it with a time constant of one period', () => {
		const share = new BusyShare(500);
		expect(share.share(0)).toBe(0);
		// Busy for a whole period: 1 - 1/e of it counts.
		share.add(0, 500);
		expect(share.share(500)).toBeCloseTo(1 - Math.exp(-1), 1);
		// Idle for another period: a factor e less.
		expect(share.share(1000)).toBeCloseTo((1 - Math.exp(-1)) / Math.E, 1);
		// Busy all the time in short stretches: close to 1.
		const always = new BusyShare(500);
		for (let t = 0; t < 5000; t += 10) always.add(t, t + 10);
		expect(always.share(5000)).toBeGreaterThan(0.95);
		// Busy a tenth of the time: about 0.1.
		const tenth = new BusyShare(500);
		for (let t = 0; t < 5000; t += 10) tenth.add(t + 9, t + 10);
		expect(tenth.share(5000)).toBeGreaterThan(0.08);
		expect(tenth.share(5000)).toBeLessThan(0.12);
	});
});

describe('BusyShare, a state still going on', () => {
	it('counts the time since `busySince` as busy without recording it', () => {
		const share = new BusyShare(500);
		// Never busy before; busy for the last 500 ms and still: as if recorded.
		expect(share.share(1000, 500)).toBeCloseTo(1 - Math.exp(-1), 5);
		expect(share.share(1000)).toBe(0);
		// A wait that lasts keeps rising towards 1.
		expect(share.share(3000, 500)).toBeGreaterThan(share.share(1500, 500));
		expect(share.share(3000, 500)).toBeGreaterThan(0.99);
	});

	it('a long stretch, once recorded, counts as much as a period of short ones, never less than a short one', () => {
		// Regression: each stretch was weighed from its middle, which made a 3 s wait count less than a 0.5 s one.
		const long = new BusyShare(500);
		long.add(0, 3000);
		const short = new BusyShare(500);
		short.add(2500, 3000);
		expect(long.share(3000)).toBeGreaterThanOrEqual(short.share(3000));
		expect(long.share(3000)).toBeGreaterThan(0.99);
	});
});
