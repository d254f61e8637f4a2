import { maxHedging } from './constants.ts';
import type { Download } from './download.ts';
import type { NormalizedOptions } from './options.ts';
import { type ConcurrencyReason, ConcurrencyPolicy, pushbackOf } from './policies/concurrency.ts';

/** `'auto'`: ms between throughput samples, at least (2 x the time to first byte if longer). */
const SAMPLE_MS = 100;
/** `'auto'`: bytes per connection a throughput measure spans at least (pieces are up to 64 KiB). */
const MEASURE_BYTES = 256 * 1024;
/** Changes of concurrency kept in `stats.concurrencyChanges`. */
const MAX_CHANGES_LOGGED = 64;

/** The policy of `concurrency: 'auto'` (or `{ min, max }` with room to move); undefined for a fixed concurrency. */
export function concurrencyPolicy(options: NormalizedOptions): ConcurrencyPolicy | undefined {
	const { auto } = options;
	// Requests on top of the slots count against a server's limit too.
	const onTop = options.hedge || options.overlap ? maxHedging : () => 0;
	return auto && auto.max > 1 ? new ConcurrencyPolicy({ ...auto, onTop, measureBytes: MEASURE_BYTES }) : undefined;
}

/**
 * Carries out adaptive concurrency (`concurrency: 'auto'`) for one download: feeds the policy
 * (`policies/concurrency.ts`) its throughput samples and the server's pushback, and makes the slots
 * and the window follow its target. Also logs every change of concurrency in `stats`, the fixed
 * one's start included. Without a policy it only logs.
 */
export class AdaptiveConcurrency {
	readonly #download: Download;
	readonly #policy: ConcurrencyPolicy | undefined;
	/** The consumer waits for bytes: the network sets the pace (`PullSource.networkBound`). */
	readonly #networkBound: () => boolean;
	/** When the download started, for the times in the log. */
	readonly #startedAt: () => number;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#sampledAt = 0;
	#sampledBytes = 0;
	/** Since the last sample, a slot was free while the consumer set the pace (see `#idleSlots`). */
	#heldBack = false;

	constructor(download: Download, policy: ConcurrencyPolicy | undefined, networkBound: () => boolean, startedAt: () => number) {
		this.#download = download;
		this.#policy = policy;
		this.#networkBound = networkBound;
		this.#startedAt = startedAt;
	}

	/** A slot stayed free while the consumer set the pace: this interval says nothing about the link. */
	heldBack(): void {
		this.#heldBack = true;
	}

	/**
	 * What was received since the last sample, for the policy. An interval counts only if every
	 * slot read throughout: a slot held back by the window (the consumer sets the pace) or with
	 * nothing left to start says nothing about the link.
	 */
	arm(): void {
		const policy = this.#policy;
		const download = this.#download;
		if (!policy || this.#timer !== undefined || download.slots.running === 0 || download.settled) return;
		if (this.#sampledAt === 0) this.#restartSample();
		const every = Math.max(SAMPLE_MS, 2 * (download.requests.ttfb ?? 0));
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			if (download.settled) return;
			const now = performance.now();
			const { plan, counters } = download;
			const saturated = !this.#heldBack && !this.#idleSlots() && plan.nextStart < (plan.totalChunks ?? 0);
			const sample = { at: now, ms: now - this.#sampledAt, bytes: counters.bytesReceived - this.#sampledBytes, saturated };
			this.#restartSample();
			this.#set(policy.sample(sample), policy.reason);
			download.schedule();
		}, every);
	}

	/** See `Download.failed`: a 429, 503, reset or refused connection is the server's pushback. */
	pushback(error: unknown): void {
		const policy = this.#policy;
		const download = this.#download;
		if (!policy || download.settled || download.facts.pin === undefined) return;
		const pushback = pushbackOf(error, performance.now(), download.counters.inFlight, download.options.retry.maxRetryAfter);
		if (pushback) this.#set(policy.pushback(pushback), policy.reason);
	}

	/** A range answer passed its checks: what the server serves at once now; more than when it refused, and it had no such limit. */
	answered(): void {
		const policy = this.#policy;
		const download = this.#download;
		if (policy && !download.settled) this.#set(policy.answered({ at: performance.now(), serving: download.counters.transferring }), policy.reason);
	}

	/** The download ended: no timer is left. */
	stop(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	log(concurrency: number, reason: ConcurrencyReason): void {
		const counters = this.#download.counters;
		counters.concurrency = concurrency;
		counters.maxConcurrency = Math.max(counters.maxConcurrency, concurrency);
		const log = counters.concurrencyChanges;
		// Bounded: the first changes (how it converged) and the latest.
		if (log.length >= MAX_CHANGES_LOGGED) log.splice(MAX_CHANGES_LOGGED / 2, 1);
		log.push({ at: Math.round(performance.now() - this.#startedAt()), concurrency, reason });
	}

	/** The slots and the window follow the policy's target; runs above a lower one end by themselves. */
	#set(concurrency: number, reason: ConcurrencyReason): void {
		const { slots, plan } = this.#download;
		if (concurrency === slots.concurrency) return;
		slots.resize(concurrency);
		plan.concurrency = concurrency;
		this.log(concurrency, reason);
	}

	#restartSample(): void {
		this.#sampledAt = performance.now();
		this.#sampledBytes = this.#download.counters.bytesReceived;
		this.#heldBack = this.#idleSlots();
	}

	/**
	 * A slot is free while the consumer does not wait for bytes: the consumer sets the pace. A
	 * slot held back by the window while the consumer waits is the link's doing (the head chunk
	 * is slow) and counts as the link's pace.
	 */
	#idleSlots(): boolean {
		return this.#download.slots.free && !this.#networkBound();
	}
}
