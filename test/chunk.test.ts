import { describe, expect, it } from 'vitest';
import { Chunk } from '../src/core/chunk.ts';
import { chooseTail } from '../src/core/policies/stealing.ts';
import { ParallelGetStream } from '../src/index.ts';
import { rejection } from './support/collect.ts';

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
		expect(() => chunk.split(10, 0)).toThrow('cannot split [10, 999] at 10');
		expect(() => chunk.split(1000, 0)).toThrow(RangeError);
		expect(chain(chunk)).toEqual([[0, 999]]);
	});

	it('splits off the last byte alone', () => {
		const chunk = new Chunk(0, 0, 999, 0);
		chunk.split(999, 0);
		expect(chain(chunk)).toEqual([
			[0, 998],
			[999, 999],
		]);
	});

	it('clears the tails with the chunk', () => {
		const chunk = new Chunk(0, 0, 999, 0);
		const tail = chunk.split(500, 0);
		tail.accept(500, bytes(10, 1), 0, new AbortController());
		chunk.clear();
		expect([tail.bufferedBytes, tail.take()]).toEqual([0, undefined]);
	});
});

describe('Chunk - a run of its own', () => {
	it('a chunk made on its own, or a tail split off, is the last chunk of its own run: tail stealing may take from it', () => {
		const chunk = new Chunk(0, 0, 4 * 1024 * 1024 - 1, 0);
		const tail = chunk.split(1024 * 1024, 0);
		expect([chunk.run, tail.run]).toEqual([[chunk], [tail]]);
		// 1000 bytes/ms per slot, no time to first byte measured: half of the biggest rest is worth a request.
		expect(chooseTail([chunk, tail], 1000, undefined)?.chunk).toBe(tail);
		expect(chooseTail([chunk], 1000, undefined)?.chunk).toBe(chunk);
	});
});

describe('Chunk.length - as a body that ends short reports it', () => {
	it('one response for the whole object whose body ends cleanly short of its Content-Length: ERR_BODY_TOO_SHORT naming both counts', async () => {
		// A fetch of the caller's own may end a body early without an error (Node's fetch throws instead).
		const fetch: typeof globalThis.fetch = async () => new Response('abc', { status: 200, headers: { 'content-length': '10' } });
		const download = new ParallelGetStream('http://127.0.0.1:9/short.bin', { fetch, retry: 0 });
		const error = await rejection(new Response(download.readable).arrayBuffer());
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_BODY_TOO_SHORT', status: 200 });
		expect(error.message).toMatch(/: the body ended after 3 of 10 bytes$/);
	});
});
