import type { ByteRange } from '../errors/parallel-get-error.ts';
import type { Send } from '../http/request.ts';
import type { Pin } from '../http/validators.ts';
import type { Verifier } from '../integrity/verifier.ts';
import type { NormalizedOptions } from './options.ts';
import type { Plan } from './plan.ts';
import type { Requests } from './request.ts';
import type { Place, Slots } from './slots.ts';
import type { DownloadStats } from './stats.ts';

/** What discovery learned that every range request needs. */
export interface Facts {
	/** The revision every range request is pinned to; undefined in `single` and `empty` mode. */
	readonly pin: Pin | undefined;
	/**
	 * The total came from `options.size` because Content-Range was unreadable (cross-origin, not
	 * exposed): the last chunk is then asked for open-ended so that its Content-Length, always
	 * readable, shows whether the object really ends there.
	 */
	readonly totalFromCaller: boolean;
	/** Discovery was answered cross-origin (CORS): some headers may be hidden. */
	readonly crossOrigin: boolean;
}

/**
 * One download as its parts see it: the plan, the slots, the requests in flight, and the few
 * actions every part may take. The engine is the one implementation.
 */
export interface Download {
	readonly url: string;
	readonly options: NormalizedOptions;
	readonly send: Send;
	readonly counters: DownloadStats;
	readonly plan: Plan;
	readonly slots: Slots;
	readonly requests: Requests;
	readonly facts: Facts;
	/**
	 * Verifies the bytes as they are handed out (the caller's `integrity` or the server's digest),
	 * once its code has loaded; undefined while it loads and when nothing is to be verified.
	 */
	readonly verifier: Verifier | undefined;
	/**
	 * The code that verifies is loading (for the caller's digest, a checkpoint's, or one a response
	 * declares): no byte is handed out and no range answer is checked until it settles. Undefined
	 * once it has loaded, and when nothing is to be verified; a rejection is the download's failure.
	 */
	readonly loading: Promise<void> | undefined;
	/**
	 * A later response must not declare another digest of the whole object than the one discovery's
	 * response (or the checkpoint) declared: throws `RevisionChangedError` if it does. Call once
	 * `loading` has settled.
	 */
	checkDigest(response: Response, range: ByteRange): void;
	/**
	 * The hedge delay in use: `hedge.after`, doubled after each false alarm (see
	 * `afterFalseAlarm`), up to `MAX_HEDGE_AFTER`, and halved after each hedge that won, down to
	 * `hedge.after` (`afterHedgeWon`).
	 */
	hedgeAfter: number;
	/** The download has ended (done, cancelled or failed). */
	readonly settled: boolean;
	/** Aborted when the download ends, with the reason; sleeps between retries listen to it. */
	readonly signal: AbortSignal;
	fail(error: unknown): void;
	/** Hedges, starts what the window allows, steals tails: after anything that may free room. */
	schedule(): void;
	/** Bytes for the head came, or the download ended: the pull waiting for them goes on. */
	wake(): void;
	/** Resolves once the consumer has taken bytes: a response held back by the window may go on. */
	room(): Promise<void>;
	/** A request failed and is to be retried: the server may be pushing back (adaptive concurrency). */
	failed(error: unknown): void;
	/** A run or a request left behind has ended: its place is free again. */
	ended(place: Place): void;
	/**
	 * Discovery's verdict, for the first round sent along with it when the size is known: true once
	 * the ranges are pinned (`facts.pin` set), false when the object is read another way (one
	 * response, empty) or the download ended.
	 */
	readonly discovered: Promise<boolean>;
	/** A range request's answer passed its checks (`checkPartial`), before any byte of it is kept. */
	checked(response: Response): void;
}
