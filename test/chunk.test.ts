import { describe, expect, it } from 'vitest';
import { Chunk } from '../src/core/chunk.ts';

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
