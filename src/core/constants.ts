/** Defaults, chosen from `npm run bench` (see README, "Choosing concurrency and chunkSize"). */
export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
/** Chunks may start only this many times `concurrency` ahead of the oldest chunk not yet read. */
export const WINDOW_FACTOR = 2;
/**
 * The window's second half is used while the consumer spends at least this share of its time
 * waiting for bytes (over about the last `CONSUMER_WAIT_PERIOD` ms): the network sets the pace.
 */
export const CONSUMER_WAIT_SHARE = 0.5;
export const CONSUMER_WAIT_PERIOD = 500;
/**
 * ...or, once the first bytes went out, while the consumer has waited this many ms without a
 * byte: the head has stopped (reset and waiting to be retried, or stalled), and the other
 * connections read on rather than wait behind it. A head that flows, however slowly, sends a
 * piece far more often than that, and the wait for the first bytes says nothing of the pace.
 */
export const STOPPED_HEAD_MS = 100;
export const DEFAULT_STALL_TIMEOUT = 30_000;
export const DEFAULT_RETRY_LIMIT = 5;
export const DEFAULT_BACKOFF_LIMIT = 10_000;
export const DEFAULT_MAX_RETRY_AFTER = 60_000;
export const MAX_CONCURRENCY = 256;
/** `concurrency: 'auto'`: the bounds when not given (`max` is also held to the memory budget). */
export const DEFAULT_AUTO_MIN = 1;
export const DEFAULT_AUTO_MAX = 64;
/** The memory budget (`maxBuffer`) when not given: the window of the default settings, 2 x 8 x 8 MiB. */
export const DEFAULT_MAX_BUFFER = 128 * 1024 * 1024;

/** Hedging: ms without progress before a chunk's rest is asked for again; see `HedgeOptions`. */
export const DEFAULT_HEDGE_AFTER = 100;
/** The hedge delay doubles after each false alarm, up to this. */
export const MAX_HEDGE_AFTER = 3200;
/**
 * Hedges of one chunk at the hedge delay; a chunk whose hedges go quiet too is hedged again after
 * twice as long, then four times, up to `MAX_HEDGES_PER_CHUNK` in all (see `quietBeforeHedge`).
 */
export const HEDGES_PER_CHUNK = 2;
export const MAX_HEDGES_PER_CHUNK = 4;
/** The hedges a download may make by default: this fraction of its chunks, at least `concurrency`. */
export const HEDGE_BUDGET_FRACTION = 0.25;
/**
 * Tail stealing: a free slot at the end of the object takes over at least this many bytes of the
 * busiest slot's rest, and at least what a slot receives in this many times to first byte (the
 * download then ends at least half a time to first byte sooner).
 */
export const STEAL_MIN_BYTES = 256 * 1024;
export const STEAL_MIN_LEAD = 0.5;
/**
 * A tail is stolen only when, at the download's measured pace per slot, it ends the download at
 * least this many ms sooner: a request costs money on object stores and counts against rate
 * limits, so a fast link (loopback, where a chunk takes a millisecond) never spends one on it.
 */
export const STEAL_MIN_SAVING_MS = 50;
/** Tails stolen at most per download, per slot. */
export const STEALS_PER_SLOT = 2;
/** Hedges in flight at once, beyond `concurrency`. */
export function maxHedging(concurrency: number): number {
	return Math.max(1, Math.ceil(concurrency / 4));
}
