import type { ByteRange } from '../errors/parallel-get-error.ts';
import { Chunk } from './chunk.ts';
import { WINDOW_FACTOR } from './constants.ts';

/**
 * The plan of a download: which chunks exist, which may start, and how many one request reads.
 *
 * Invariants, once discovery has laid the object out (`totalChunks` set):
 * - chunk `i` covers `[base + i x chunkSize, min(base + (i + 1) x chunkSize, size) - 1]`, less the tails split
 *   off it (`Chunk.split`), which keep its index and are handed out right after it;
 * - `nextEmit <= nextStart`: every chunk below `nextEmit` has been handed out and is gone; the
 *   table holds the chunks from `nextEmit` up to `nextStart`, each started on a request;
 * - the window: a chunk starts only below `limit()`, at most `WINDOW_FACTOR x concurrency` chunks
 *   past `nextEmit` (`concurrency` while the consumer sets the pace), and never more than the
 *   memory budget holds (`maxBuffer / chunkSize`), so the bytes held never exceed that many
 *   chunks, whatever the object's size or the reader's pace (cachew#360), nor `maxBuffer` when
 *   the concurrency changes (`'auto'`): chunks started under a larger window are within the budget;
 * - a run, the chunks one request reads in order, is 1 to `WINDOW_FACTOR` consecutive chunks.
 */
export class Plan {
	readonly chunks = new Map<number, Chunk>();
	/** Bytes in the object; undefined while unknown (one plain GET without Content-Length). */
	size: number | undefined;
	/** Chunks in the object; undefined until discovery has laid it out. */
	totalChunks: number | undefined;
	/** The chunk the consumer reads now (the head), and the next one to start. */
	nextEmit = 0;
	nextStart = 1;
	/** Where chunk 0 starts: 0, or the offset a resumed download starts at (see `checkpoint.ts`). */
	base = 0;
	/** The slots in use (see `Slots.concurrency`): set by adaptive concurrency as it changes. */
	concurrency: number;
	readonly #chunkSize: number;
	/** Chunks the memory budget holds. */
	readonly #budget: number;

	constructor(chunkSize: number, concurrency: number, maxBuffer = Number.POSITIVE_INFINITY) {
		this.#chunkSize = chunkSize;
		this.concurrency = concurrency;
		this.#budget = Math.max(1, Math.floor(maxBuffer / chunkSize));
	}

	/** Bytes the window may hold at most with `concurrency` slots: see `limit`. */
	windowBytes(concurrency = this.concurrency): number {
		return Math.min(WINDOW_FACTOR * concurrency, this.#budget) * this.#chunkSize;
	}

	addChunk(index: number): Chunk {
		const start = this.base + index * this.#chunkSize;
		const end = Math.min(start + this.#chunkSize, this.size ?? Number.POSITIVE_INFINITY) - 1;
		const chunk = new Chunk(index, start, end, performance.now());
		this.chunks.set(index, chunk);
		return chunk;
	}

	/** Every chunk not handed out yet, the tails split off them included. */
	*everyChunk(): Generator<Chunk> {
		for (const first of this.chunks.values()) for (let chunk: Chunk | undefined = first; chunk; chunk = chunk.tail) yield chunk;
	}

	/** Every chunk has been handed out. */
	get finished(): boolean {
		return this.totalChunks !== undefined && this.nextEmit >= this.totalChunks;
	}

	/**
	 * The head has been handed out whole. A tail split off it comes next, under the same index;
	 * otherwise the window moves on by one chunk (true: a chunk may start).
	 */
	dropHead(head: Chunk): boolean {
		if (head.tail) {
			this.chunks.set(this.nextEmit, head.tail);
			return false;
		}
		this.chunks.delete(this.nextEmit);
		this.nextEmit++;
		return true;
	}

	/**
	 * The first chunk that may not start yet. The second half of the window is slack for a slow
	 * head, worth having only while the network sets the pace: a consumer that hardly ever waits
	 * for bytes (and one that has not waited yet) gets `concurrency` chunks ahead of it, which
	 * keeps every slot busy; twice that would only hold bytes longer.
	 */
	limit(networkBound: boolean): number {
		return Math.min(this.totalChunks ?? 0, this.nextEmit + Math.min((networkBound ? WINDOW_FACTOR : 1) * this.concurrency, this.#budget));
	}

	/**
	 * Chunks for the next request, `running` slots being busy: up to WINDOW_FACTOR while the window
	 * has that much room for every free slot and the object that much left for every slot, so that
	 * each request waits its time to first byte once, not once per chunk. Otherwise (a full window,
	 * the tail, a small object) one chunk, so that every slot works and all finish close together.
	 */
	runLength(limit: number, running: number): number {
		const room = Math.floor((limit - this.nextStart) / Math.max(1, this.concurrency - running));
		const left = Math.floor(((this.totalChunks ?? 0) - this.nextStart) / this.concurrency);
		return Math.max(1, Math.min(WINDOW_FACTOR, room, left));
	}

	/** Adds the next `length` chunks as one run, read by one request. */
	nextRun(length: number): Chunk[] {
		const run: Chunk[] = [];
		for (let i = 0; i < length; i++) run.push(this.addChunk(this.nextStart++));
		for (const chunk of run) chunk.run = run;
		return run;
	}

	/** Drops every chunk and its buffered bytes (the download ended). */
	clear(): void {
		for (const chunk of this.chunks.values()) chunk.clear();
		this.chunks.clear();
	}
}

/** A chunk as the spans of a run see it. */
export interface Span {
	readonly done: boolean;
	readonly frontier: number;
	readonly end: number;
	readonly received: number;
}

/** Bytes received for a run of chunks. */
export function received(run: readonly Span[]): number {
	let total = 0;
	for (const chunk of run) total += chunk.received;
	return total;
}

/** From the first byte a run still misses to its end: what the run's next request asks for. */
export function remaining(run: readonly Span[]): ByteRange {
	const pending = run.find((chunk) => !chunk.done) ?? (run[run.length - 1] as Span);
	return { start: pending.frontier, end: (run[run.length - 1] as Span).end };
}
