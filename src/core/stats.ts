/** Counters for tests, benchmarks and progress displays. */
export interface DownloadStats {
	/** Requests sent, discovery and retries included. */
	requests: number;
	/** Attempts that were retried after a transient fault. */
	retries: number;
	/** Extra requests made for stalled chunks, and how many chunks such a request completed first. */
	hedges: number;
	hedgesWon: number;
	/**
	 * Times a free slot, with no chunk left to start, took over the back part of what the busiest
	 * slot still had to read (tail stealing), so that all slots finish together.
	 */
	steals: number;
	/** Times a slot was let go to start its next request before its current one ended (`overlap`). */
	overlaps: number;
	/**
	 * Requests in flight now, and the most at any time: within `concurrency` plus the hedges'
	 * `max(1, ceil(concurrency / 4))` with `overlap: false`; with overlap, each slot's next request
	 * may be sent before its current one ends, up to `2 x concurrency` plus the hedges'.
	 */
	inFlight: number;
	maxInFlight: number;
	/**
	 * Responses whose body is being read now (their headers in, not yet ended), and the most at any
	 * time: the connections moving bytes, about `concurrency` (a request sent early moves none until
	 * its answer comes).
	 */
	transferring: number;
	maxTransferring: number;
	/** Bytes received and not yet handed to the consumer, now and at most. */
	bufferedBytes: number;
	maxBufferedBytes: number;
	/** Bytes received from the network and kept (duplicates of a hedge not counted). */
	bytesReceived: number;
	/**
	 * Bytes of the object handed to the consumer, in order. A resumed download (`resume`) counts
	 * on from the checkpoint's offset, so that it always says how far into the object the stream is.
	 */
	loaded: number;
	/**
	 * Connections (slots) in use now and the most at any time: the fixed `concurrency`, or what
	 * `'auto'` decided.
	 */
	concurrency: number;
	maxConcurrency: number;
	/**
	 * When the concurrency changed (`at`: ms since the download started) and why: `start`, then for
	 * `'auto'` `grow`, `settle`, `probe`, `revert`, `throttled` (a 429 or 503), `reset`, `undo` (a cut
	 * for a 429 or 503 undone: the server then served more at once). The first
	 * 32 changes and the latest ones.
	 */
	concurrencyChanges: ConcurrencyChange[];
}

export interface ConcurrencyChange {
	at: number;
	concurrency: number;
	reason: string;
}

/** Every counter at zero: a download's stats before it starts. */
export function zeroStats(): DownloadStats {
	return {
		requests: 0,
		retries: 0,
		hedges: 0,
		hedgesWon: 0,
		steals: 0,
		overlaps: 0,
		inFlight: 0,
		maxInFlight: 0,
		transferring: 0,
		maxTransferring: 0,
		bufferedBytes: 0,
		maxBufferedBytes: 0,
		bytesReceived: 0,
		loaded: 0,
		concurrency: 0,
		maxConcurrency: 0,
		concurrencyChanges: [],
	};
}
