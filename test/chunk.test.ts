import { describe, expect, it } from 'vitest';
import { Chunk, tailShare } from '../src/core/chunk.ts';
import { STEAL_MIN_BYTES } from '../src/core/constants.ts';

const bytes = (length: number, fill: number) => new Uint8Array(new ArrayBuffer(length)).fill(fill);

/** The chunk and the tails split off it, in the order they are handed out. */
function chain(chunk: Chunk): [number, number][] {
	const spans: [number, number][] = [];
	for (let part: Chunk | undefined = chunk; part; part = part.tail) spans.push([part.start, part.end]);
	return spans;
}

describe('Chunk.split', () => {
	it('splits off the back of a chunk past its frontier; the bytes received stay, the rest goes to the tail', () => {
		const controller = new AbortController();
		const chunk = new Chunk(3, 1000, 1999, 0);
		expect(chunk.accept(1000, bytes(100, 1), 0, controller)).toBe(100);
		const tail = chunk.split(1500, 0);
		expect([tail.index, tail.start, tail.end, tail.frontier]).toEqual([3, 1500, 1999, 1500]);
		expect(chunk.end).toBe(1499);
		expect(chunk.take()?.byteLength).toBe(100);
		// The chunk completes at the split point; bytes past it are not its own.
		expect(chunk.accept(1100, bytes(400, 2), 0, controller)).toBe(400);
		expect(chunk.done).toBe(true);
		expect(tail.done).toBe(false);
	});

	it('keeps the order when the chunk or a tail is split again', () => {
		const chunk = new Chunk(0, 0, 999, 0);
		const first = chunk.split(800, 0);
		chunk.split(400, 0);
		first.split(900, 0);
		expect(chain(chunk)).toEqual([
			[0, 399],
			[400, 799],
			[800, 899],
			[900, 999],
		]);
	});

	it('refuses a split point at or before the frontier, or past the end', () => {
		const chunk = new Chunk(0, 0, 999, 0);
		chunk.accept(0, bytes(10, 1), 0, new AbortController());
		expect(() => chunk.split(10, 0)).toThrow(RangeError);
		expect(() => chunk.split(1000, 0)).toThrow(RangeError);
		expect(chain(chunk)).toEqual([[0, 999]]);
	});

	it('clears the tails with the chunk', () => {
		const chunk = new Chunk(0, 0, 999, 0);
		const tail = chunk.split(500, 0);
		tail.accept(500, bytes(10, 1), 0, new AbortController());
		chunk.clear();
		expect([tail.bufferedBytes, tail.take()]).toEqual([0, undefined]);
	});
});

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
