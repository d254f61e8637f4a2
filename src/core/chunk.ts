/** Bytes as fetch bodies deliver them (a plain ArrayBuffer behind each view). */
export type Bytes = Uint8Array<ArrayBuffer>;

/**
 * One range of the object and the bytes received for it that the consumer has not read yet.
 * Several requests may feed the same chunk (a resume after a fault, a hedge of a slow one): each
 * delivers bytes at its own offset, and only bytes past the frontier are kept, so the output never
 * holds a byte twice. Bytes are kept as the views the network delivered (no copies).
 */
export class Chunk {
	readonly index: number;
	readonly start: number;
	/** Inclusive; `Infinity` while the end is unknown (one plain GET of unknown length). */
	end: number;
	/** Bytes received from `start` on, contiguous. */
	received = 0;
	/** Received bytes not yet handed to the consumer. */
	readonly #pieces: (Bytes | undefined)[] = [];
	#head = 0;
	bufferedBytes = 0;
	done = false;
	/** When the frontier last moved (or the chunk started), `performance.now()` time. */
	lastProgressAt: number;
	/** Controllers of the requests feeding this chunk, aborted when it completes. */
	readonly requests = new Set<AbortController>();
	/** The request that delivered the last byte. */
	completedBy: AbortController | undefined;
	/** Times this chunk was hedged, and whether a hedge delivered any of its bytes. */
	hedged = 0;
	hedgeDelivered = false;
	/**
	 * The chunks read by the request this one was started with, in order; this one is the last
	 * unless it was split. A tail split off is a run of its own.
	 */
	run: readonly Chunk[] = [this];
	/** The back part split off this chunk for another request (see `split`): handed out right after it. */
	tail: Chunk | undefined;
	/**
	 * Set on the last chunk of a run while its slot may start its next request early (overlap):
	 * called as the run nears its end; lets the slot go, and unsets itself, when the allowance
	 * for requests on top of `concurrency` has room.
	 */
	nearEnd: (() => void) | undefined;

	constructor(index: number, start: number, end: number, now: number) {
		this.index = index;
		this.start = start;
		this.end = end;
		this.lastProgressAt = now;
	}

	get length(): number {
		return this.end - this.start + 1;
	}

	/** Absolute offset of the first byte not received yet. */
	get frontier(): number {
		return this.start + this.received;
	}

	/**
	 * Takes `bytes` that a response delivered at absolute `offset` (never past the frontier: every
	 * request starts at the frontier of its time, which only grows). Returns the count of new bytes.
	 */
	accept(offset: number, bytes: Bytes, now: number, from: AbortController): number {
		const skip = this.frontier - offset;
		if (skip >= bytes.byteLength) return 0;
		const fresh = skip > 0 ? bytes.subarray(skip) : bytes;
		this.#pieces.push(fresh);
		this.bufferedBytes += fresh.byteLength;
		this.received += fresh.byteLength;
		this.lastProgressAt = now;
		if (this.frontier > this.end) {
			this.done = true;
			this.completedBy = from;
			// The others feeding this chunk are redundant now.
			for (const controller of this.requests) if (controller !== from) controller.abort();
		}
		return fresh.byteLength;
	}

	/** The oldest received piece the consumer has not read, removed from the chunk. */
	take(): Bytes | undefined {
		if (this.#head >= this.#pieces.length) return undefined;
		const piece = this.#pieces[this.#head];
		this.#pieces[this.#head++] = undefined;
		if (this.#head === this.#pieces.length) {
			this.#pieces.length = 0;
			this.#head = 0;
		}
		if (piece) this.bufferedBytes -= piece.byteLength;
		return piece;
	}

	/** Everything received has been taken, and nothing more will come. */
	get drained(): boolean {
		return this.done && this.bufferedBytes === 0;
	}

	/**
	 * Splits off `[at, end]` as a chunk of its own, handed out right after this one (before any
	 * tail split off earlier). This chunk then ends at `at - 1`: the requests feeding it stop there.
	 * `at` must lie past the frontier, so no byte received is ever moved.
	 */
	split(at: number, now: number): Chunk {
		if (!(at > this.frontier && at <= this.end)) throw new RangeError(`cannot split [${this.frontier}, ${this.end}] at ${at}`);
		const tail = new Chunk(this.index, at, this.end, now);
		tail.tail = this.tail;
		this.tail = tail;
		this.end = at - 1;
		return tail;
	}

	/** Drops buffered bytes, of the tails split off too (the download failed or was cancelled). */
	clear(): void {
		for (let chunk: Chunk | undefined = this; chunk; chunk = chunk.tail) {
			chunk.#pieces.length = 0;
			chunk.#head = 0;
			chunk.bufferedBytes = 0;
		}
	}
}
