import { describe, expect, it } from 'vitest';
import { WINDOW_FACTOR } from '../src/core/constants.ts';
import { Plan, received, remaining } from '../src/core/plan.ts';
import { Slots } from '../src/core/slots.ts';

/** A plan laid out for `size` bytes, as discovery leaves it: chunk 0 started. */
function laidOut(size: number, chunkSize: number, concurrency: number): Plan {
	const plan = new Plan(chunkSize, concurrency);
	plan.size = size;
	plan.totalChunks = Math.ceil(size / chunkSize);
	plan.addChunk(0);
	return plan;
}

describe('Plan', () => {
	it('limit - WINDOW_FACTOR x concurrency chunks past the head while the network sets the pace, concurrency otherwise, never past the end', () => {
		const plan = laidOut(100 * 10, 10, 4);
		expect(plan.limit(true)).toBe(WINDOW_FACTOR * 4);
		expect(plan.limit(false)).toBe(4);
		plan.nextEmit = 98;
		expect(plan.limit(true)).toBe(100);
	});

	it('windowBytes - WINDOW_FACTOR x concurrency chunks, held to the memory budget (maxBuffer / chunkSize chunks)', () => {
		const plan = new Plan(10, 4, 55);
		expect([plan.windowBytes(), plan.windowBytes(2), plan.windowBytes(1)]).toEqual([50, 40, 20]);
		expect(new Plan(10, 4).windowBytes()).toBe(WINDOW_FACTOR * 4 * 10);
		// A budget below one chunk still lets one chunk in.
		expect(new Plan(10, 4, 5).windowBytes()).toBe(10);
	});

	it('runLength - WINDOW_FACTOR chunks per request while window and object have room for every slot, one chunk at the tail', () => {
		const plan = laidOut(100 * 10, 10, 4);
		expect(plan.runLength(plan.limit(true), 1)).toBe(WINDOW_FACTOR);
		// A full window: 7 chunks of room for 3 free slots.
		expect(plan.runLength(8, 1)).toBe(WINDOW_FACTOR);
		expect(plan.runLength(4, 1)).toBe(1);
		plan.nextStart = 97;
		expect(plan.runLength(100, 0)).toBe(1);
	});

	it('nextRun - consecutive chunks read by one request, each knowing its run; the last one ends at the object', () => {
		const plan = laidOut(25, 10, 2);
		const run = plan.nextRun(2);
		expect(run.map((chunk) => [chunk.index, chunk.start, chunk.end])).toEqual([
			[1, 10, 19],
			[2, 20, 24],
		]);
		expect(run.every((chunk) => chunk.run === run)).toBe(true);
		expect(plan.nextStart).toBe(3);
	});

	it('dropHead - a tail split off the head comes next under its index; otherwise the window moves on', () => {
		const plan = laidOut(20, 10, 2);
		const head = plan.chunks.get(0)!;
		const tail = head.split(5, 0);
		expect(plan.dropHead(head)).toBe(false);
		expect([plan.nextEmit, plan.chunks.get(0)]).toEqual([0, tail]);
		expect(plan.dropHead(tail)).toBe(true);
		expect([plan.nextEmit, plan.chunks.size]).toEqual([1, 0]);
		plan.nextRun(1);
		plan.dropHead(plan.chunks.get(1)!);
		expect(plan.finished).toBe(true);
	});

	it('received and remaining - a run is read in order: what is in, and from its first byte missing to its end', () => {
		const plan = laidOut(40, 10, 2);
		const run = plan.nextRun(2);
		const controller = new AbortController();
		run[0]!.accept(10, new Uint8Array(new ArrayBuffer(10)), 0, controller);
		run[1]!.accept(20, new Uint8Array(new ArrayBuffer(4)), 0, controller);
		expect(received(run)).toBe(14);
		expect(remaining(run)).toEqual({ start: 24, end: 29 });
	});
});

describe('Slots', () => {
	it('keeps the bounds on requests in flight: concurrency slots, one early place per slot, and maxHedging left behind', () => {
		const slots = new Slots(4);
		expect(slots.most).toBe(1);
		for (let i = 0; i < 4; i++) slots.take('slot');
		expect([slots.running, slots.free, slots.mayLetGo, slots.detached < slots.most]).toEqual([4, false, true, true]);
		// Every slot's run may be let go early (overlap), whatever hedging has left behind.
		for (let i = 0; i < 4; i++) {
			expect(slots.mayLetGo).toBe(true);
			slots.move('slot', 'early');
			slots.take('slot');
		}
		expect([slots.running, slots.extra, slots.free, slots.mayLetGo, slots.detached < slots.most]).toEqual([4, 4, false, false, true]);
		slots.take('detached');
		expect([slots.extra, slots.detached, slots.detached < slots.most, slots.idle]).toEqual([5, 1, false, false]);
		slots.leave('detached');
		for (let i = 0; i < 4; i++) slots.leave('early');
		expect(slots.mayLetGo).toBe(true);
		for (let i = 0; i < 4; i++) slots.leave('slot');
		expect(slots.idle).toBe(true);
	});

	it('resize - a new concurrency moves the bounds: the slots, the early places and the hedges\' allowance', () => {
		const slots = new Slots(4);
		for (let i = 0; i < 4; i++) slots.take('slot');
		slots.resize(16);
		expect([slots.concurrency, slots.free, slots.most]).toEqual([16, true, 4]);
		slots.resize(2);
		// Runs above a lowered concurrency end by themselves; none starts meanwhile.
		expect([slots.concurrency, slots.free, slots.running, slots.most]).toEqual([2, false, 4, 1]);
	});

	it('counts the runs still reading: those holding a slot and those let go early, not requests left behind', () => {
		const slots = new Slots(2);
		slots.take('slot');
		slots.take('slot');
		slots.move('slot', 'early');
		expect([slots.running, slots.runs]).toEqual([1, 2]);
		slots.leave('slot');
		expect([slots.running, slots.runs]).toEqual([0, 1]);
		slots.leave('early');
		slots.take('detached');
		expect([slots.runs, slots.idle]).toEqual([0, false]);
		// As many runs as requests on top of them: still busy.
		slots.take('slot');
		expect([slots.running, slots.extra, slots.idle]).toEqual([1, 1, false]);
	});
});
