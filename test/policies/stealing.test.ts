import { describe, expect, it } from 'vitest';
import { STEAL_MIN_BYTES, STEALS_PER_SLOT } from '../../src/core/constants.ts';
import { chooseTail, maySteal, type StealChunk, slotPace, tailShare } from '../../src/core/policies/stealing.ts';

describe('tailShare (tail stealing)', () => {
	const MiB = 1024 * 1024;

	it('leaves the busy slot and the free one ending together: half of what is left after the free one’s wait', () => {
		// 10 MiB left; the busy slot reads 2 MiB while the free one waits for its first byte.
		// The free slot takes 4 MiB: the busy one reads 2 + 4 MiB meanwhile, both end together.
		expect(tailShare(10 * MiB, 2 * MiB, 8 * MiB)).toBe(4 * MiB);
		// With no wait to speak of, it is the back half.
		expect(tailShare(10 * MiB, 0, 8 * MiB)).toBe(5 * MiB);
	});

	it('takes no more than the last chunk has past its frontier', () => {
		expect(tailShare(10 * MiB, 2 * MiB, 3 * MiB)).toBe(3 * MiB);
	});

	it('takes nothing that ends the download less than half a time to first byte sooner, or under the minimum', () => {
		// A 4 MiB lead: the 3 MiB share ends it 3/4 of a wait sooner. A 6 MiB lead: 2 MiB, 1/3 of one.
		expect(tailShare(10 * MiB, 4 * MiB, 8 * MiB)).toBe(3 * MiB);
		expect(tailShare(10 * MiB, 6 * MiB, 8 * MiB)).toBe(0);
		expect(tailShare(10 * MiB, 8 * MiB, 8 * MiB)).toBe(0);
		expect(tailShare(2 * STEAL_MIN_BYTES, 0, MiB)).toBe(STEAL_MIN_BYTES);
		expect(tailShare(2 * STEAL_MIN_BYTES - 2, 0, MiB)).toBe(0);
	});

	it('takes nothing a slot reads in less than `worth` (a fast link: the saving is not worth a request)', () => {
		expect(tailShare(10 * MiB, 0, 8 * MiB, 5 * MiB)).toBe(5 * MiB);
		expect(tailShare(10 * MiB, 0, 8 * MiB, 5 * MiB + 1)).toBe(0);
		expect(tailShare(10 * MiB, 2 * MiB, 8 * MiB, 4 * MiB + 1)).toBe(0);
	});
});

describe('chooseTail (tail stealing)', () => {
	const MiB = 1024 * 1024;
	/** A run of chunks, each `[start, end, received]`, the last one the candidate. */
	function run(...spans: [number, number, number][]): StealChunk[] {
		const chunks = spans.map(([start, end, received]) => ({ start, end, received, frontier: start + received, done: start + received > end, run: [] as StealChunk[] }));
		for (const chunk of chunks) chunk.run = chunks;
		return chunks;
	}

	it('takes from the run with the most left to read, at the end of its last chunk', () => {
		const small = run([0, MiB - 1, 0]);
		const big = run([MiB, 2 * MiB - 1, 0], [2 * MiB, 3 * MiB - 1, 0]);
		// No wait for a first byte: the back half of the 2 MiB left, less the byte at the frontier
		// (a split lies past it).
		const choice = chooseTail([...small, ...big], 1, 0);
		expect(choice?.chunk).toBe(big[1]);
		expect(choice?.share).toBe(MiB - 1);
	});

	it('takes from the run with the most left wherever it lies (not the one furthest on), and of two equally busy, the first', () => {
		// 1 MiB left early in the object, half a MiB left far on: the early one is the busier.
		const early = run([0, MiB - 1, 0]);
		const late = run([64 * MiB, 64 * MiB + MiB / 2 - 1, 0]);
		expect(chooseTail([...early, ...late], 1, 0)?.chunk).toBe(early[0]);
		expect(chooseTail([...late, ...early], 1, 0)?.chunk).toBe(early[0]);
		const other = run([8 * MiB, 9 * MiB - 1, 0]);
		expect(chooseTail([...early, ...other], 1, 0)?.chunk).toBe(early[0]);
	});

	it('looks at the last chunk of each run only, and not at a done one', () => {
		const chunks = run([0, 4 * MiB - 1, 4 * MiB], [4 * MiB, 8 * MiB - 1, 0]);
		expect(chooseTail([chunks[0] as StealChunk], 1, 0)).toBeUndefined();
		expect(chooseTail(run([0, MiB - 1, MiB]), 1, 0)).toBeUndefined();
	});

	it('takes nothing before a pace is measured, or where the tail does not pay', () => {
		const chunks = run([0, 8 * MiB - 1, 0]);
		expect(chooseTail(chunks, 0, 10)).toBeUndefined();
		// 1 KiB per ms: a tail must end the download 50 ms sooner, 50 KiB; 4 MiB does. A 10 s time to first byte eats it all.
		expect(chooseTail(chunks, 1024, 10)?.share).toBe(4 * MiB - 5 * 1024);
		expect(chooseTail(chunks, 1024, 10_000)).toBeUndefined();
	});

	// Issue: 5 MiB in 1 MiB chunks on 4 slots took 8 requests on loopback. Whether a real download
	// is that fast depends on the machine, so the engine's count on loopback is the benchmark's
	// (`tails stolen` in its loopback line); here the decision at such a pace.
	it('small objects cost many requests: at a loopback pace (a 1 MiB chunk in 10 ms per slot) no tail pays', () => {
		const busy = run([0, MiB - 1, 0]);
		expect(chooseTail(busy, MiB / 10, 1)).toBeUndefined();
		// The same chunk at 1 MiB/s per slot: half of it ends the download 0.5 s sooner.
		expect(chooseTail(busy, MiB / 1000, 1)?.share).toBe(Math.floor((MiB - MiB / 1000) / 2));
	});
});

describe('maySteal and slotPace (tail stealing)', () => {
	it('maySteal - only with hedging on, never for one chunk, at most STEALS_PER_SLOT x concurrency times', () => {
		expect(maySteal(true, 10, 0, 4)).toBe(true);
		expect(maySteal(false, 10, 0, 4)).toBe(false);
		expect(maySteal(true, 1, 0, 4)).toBe(false);
		expect(maySteal(true, 10, STEALS_PER_SLOT * 4 - 1, 4)).toBe(true);
		expect(maySteal(true, 10, STEALS_PER_SLOT * 4, 4)).toBe(false);
	});

	it('slotPace - bytes per ms per slot, 0 before any time has passed', () => {
		expect(slotPace(8000, 100, 4)).toBe(20);
		expect(slotPace(8000, 0, 4)).toBe(0);
	});
});
