import { checkWholeSize, statusError } from '../http/checks.ts';
import { serverDigest } from '../http/digests.ts';
import { encode, type ExpectedDigest } from '../integrity/digest.ts';
import { Verifier } from '../integrity/verifier.ts';
import type { Send } from '../http/request.ts';
import { noop } from '../utils/abort.ts';
import { pinFromHeaders } from '../http/validators.ts';
import { readWhole } from './body.ts';
import { type Checkpoint, checkpointOf, type ResumeHash, type ResumePoint, resumable, type StrongPin } from './checkpoint.ts';
import { type Bytes, Chunk } from './chunk.ts';
import { classifyDiscovery, describe, type DownloadInfo, wholeLength } from './discovery.ts';
import type { Download, Facts } from './download.ts';
import type { NormalizedOptions } from './options.ts';
import { Plan } from './plan.ts';
import { maxHedging } from './constants.ts';
import { type ConcurrencyReason, ConcurrencyPolicy, pushbackOf } from './policies/concurrency.ts';
import { checkEvery, hedgeBudget, headersDelay, stalled } from './policies/hedging.ts';
import { chooseTail, maySteal, slotPace } from './policies/stealing.ts';
import { PullSource } from './pull-source.ts';
import { RangeRequest } from './range-request.ts';
import { discard, type Opened, Requests, RESTART } from './request.ts';
import { retrying } from './retry.ts';
import { type Place, Slots } from './slots.ts';
import type { DownloadStats } from './stats.ts';

/** `'auto'`: ms between throughput samples, at least (2 x the time to first byte if longer). */
const SAMPLE_MS = 100;
/** Changes of concurrency kept in `stats.concurrencyChanges`. */
const MAX_CHANGES_LOGGED = 64;

export type { DownloadInfo } from './discovery.ts';
export type { DownloadStats } from './stats.ts';

/**
 * The download, wired from its parts: discovery (`discovery.ts`) decides the mode; the plan
 * (`plan.ts`) lays out the chunks and bounds the window; each run of chunks is a `RangeRequest`,
 * resumed after faults (`retry.ts`) and holding a place in `Slots`; the straggler policies
 * (`policies/`) decide hedges and stolen tails; the `PullSource` hands bytes out in order.
 * Memory: chunks start only within `WINDOW_FACTOR x concurrency` chunks of the oldest one the
 * consumer has not finished reading, so bytes held never exceed that many chunks.
 */
export class Engine implements Download {
	readonly info: Promise<DownloadInfo>;
	#resolveInfo!: (info: DownloadInfo) => void;
	#rejectInfo!: (error: unknown) => void;

	readonly url: string;
	readonly options: NormalizedOptions;
	readonly send: Send;
	readonly #signals: AbortSignal[];
	/** Aborted when the download stops: sleeps between retries listen to it. */
	readonly #abort = new AbortController();
	readonly signal: AbortSignal = this.#abort.signal;
	readonly plan: Plan;
	readonly slots: Slots;
	readonly requests: Requests = new Requests(this);
	readonly #source: PullSource = new PullSource(this, (reason) => this.#stop(reason));
	facts: Facts = { pin: undefined, totalFromCaller: false, crossOrigin: false };
	hedgeAfter: number;
	verifier: Verifier | undefined;
	settled = false;
	#controller: ReadableStreamDefaultController<Bytes> | undefined;
	#hedgeTimer: ReturnType<typeof setTimeout> | undefined;
	readonly discovered: Promise<boolean>;
	/** The first round went out with discovery and waits for its verdict (see `#firstRound`). */
	#early = false;
	#resolveDiscovered!: (pinned: boolean) => void;
	/** The revision and size a checkpoint pins; undefined while unknown, or when it cannot be resumed. */
	#pinned: { pin: StrongPin; size: number } | undefined;
	/** When the download started (`start()`), for its pace so far. */
	#startedAt = performance.now();
	/** `concurrency: 'auto'`: the policy, and its throughput samples (see `#sampleThroughput`). */
	readonly #policy: ConcurrencyPolicy | undefined;
	#sampleTimer: ReturnType<typeof setTimeout> | undefined;
	#sampledAt = 0;
	#sampledBytes = 0;
	/** Since the last sample, a slot was free while the consumer set the pace (see `#idleSlots`). */
	#heldBack = false;

	readonly counters: DownloadStats = {
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

	constructor(url: string, options: NormalizedOptions, send: Send, signals: AbortSignal[]) {
		this.url = url;
		this.options = options;
		this.send = send;
		this.#signals = signals;
		const { auto } = options;
		const onTop = options.hedge || options.overlap ? maxHedging : () => 0;
		this.#policy = auto && auto.max > 1 ? new ConcurrencyPolicy({ ...auto, onTop }) : undefined;
		const concurrency = this.#policy?.target ?? options.concurrency;
		this.plan = new Plan(options.chunkSize, concurrency, options.maxBuffer);
		this.slots = new Slots(concurrency);
		this.#logConcurrency(concurrency, 'start');
		this.hedgeAfter = options.hedge?.after ?? 0;
		const resume = options.resume;
		const hash = resume?.hash;
		if (options.integrity) this.#verify(options.integrity, hash);
		else if (hash && options.verify && hash.source !== 'integrity') {
			// A server's digest verified before the checkpoint: verified on, over the whole object,
			// and every response must not declare another (a changed revision).
			this.#verify({ algorithm: hash.algorithm, values: [hash.digest], encoding: 'base64', source: hash.source }, hash);
		}
		if (resume) {
			// Bytes before the checkpoint were handed out by an earlier download: `loaded` goes on from there.
			this.counters.loaded = resume.offset;
			this.#pinned = { pin: resume.pin, size: resume.size };
		}
		this.info = new Promise<DownloadInfo>((resolve, reject) => {
			this.#resolveInfo = resolve;
			this.#rejectInfo = reject;
		});
		// Nobody has to await `info`: its rejection mirrors the stream's error, which the reader sees.
		this.info.catch(noop);
		this.discovered = new Promise<boolean>((resolve) => {
			this.#resolveDiscovered = resolve;
		});
	}

	get stats(): DownloadStats {
		return { ...this.counters, concurrencyChanges: this.counters.concurrencyChanges.map((change) => ({ ...change })) };
	}

	/** See `checkpoint.ts`: undefined until the revision is known, and for a download that cannot be resumed. */
	checkpoint(): Checkpoint | undefined {
		const pinned = this.#pinned;
		const verifier = this.verifier;
		// Bytes that failed verification are never continued.
		if (!pinned || verifier?.failed) return undefined;
		const offset = this.counters.loaded;
		const checkpoint = checkpointOf(this.url, offset, pinned.size, pinned.pin);
		const hash = verifier?.checkpointHash(offset);
		if (hash) checkpoint.hash = hash;
		return checkpoint;
	}

	/** The stream's `start()`: discovery begins at once, so `info` settles even before a read. */
	start(controller: ReadableStreamDefaultController<Bytes>): void {
		this.#controller = controller;
		this.#startedAt = performance.now();
		for (const signal of this.#signals) {
			if (signal.aborted) {
				this.fail(signal.reason);
				return;
			}
			signal.addEventListener('abort', this.#onAbort, { once: true });
		}
		if (this.options.resume) {
			this.#resume(this.options.resume);
			return;
		}
		const discovery = this.options.concurrency === 1 ? this.#single() : this.#discover();
		discovery.catch((error: unknown) => this.fail(error));
	}

	/** The stream's `pull()`: see `PullSource`. */
	pull(controller: ReadableStreamDefaultController<Bytes>): Promise<void> {
		return this.#source.pull(controller);
	}

	/** The stream's `cancel()`: the consumer is gone; stop everything. */
	cancel(reason: unknown): void {
		this.#stop(reason);
	}

	readonly #onAbort = (event: Event): void => {
		this.fail((event.target as AbortSignal).reason);
	};

	fail(error: unknown): void {
		if (this.#stop(error)) this.#controller?.error(error);
	}

	/**
	 * Ends the download once, whatever ends it (done, cancelled, failed): every request, timer and
	 * listener stops, buffered bytes are dropped. False when it had already ended.
	 */
	#stop(reason: unknown): boolean {
		if (this.settled) return false;
		this.settled = true;
		// No-op once `info` has resolved.
		this.#rejectInfo(reason);
		this.#resolveDiscovered(false);
		this.#abort.abort(reason);
		this.requests.abortAll(reason);
		clearTimeout(this.#hedgeTimer);
		this.#hedgeTimer = undefined;
		clearTimeout(this.#sampleTimer);
		this.#sampleTimer = undefined;
		for (const signal of this.#signals) signal.removeEventListener('abort', this.#onAbort);
		this.plan.clear();
		this.verifier?.clear();
		this.counters.bufferedBytes = 0;
		this.wake();
		return true;
	}

	wake(): void {
		this.#source.wake();
	}

	room(): Promise<void> {
		return this.#source.room();
	}

	ended(place: Place): void {
		this.slots.leave(place);
		this.schedule();
		this.wake();
	}

	/** See `Download.failed`: a 429, 503, reset or refused connection is the server's pushback. */
	failed(error: unknown): void {
		const policy = this.#policy;
		if (!policy || this.settled || this.facts.pin === undefined) return;
		const pushback = pushbackOf(error, performance.now(), this.counters.inFlight, this.options.retry.maxRetryAfter);
		if (pushback) this.#setConcurrency(policy.pushback(pushback), policy.reason);
	}

	// ---------------------------------------------------------------- discovery

	/** No HEAD: the first chunk is asked for as a range; its body is the head of the output and streams out as it arrives. */
	async #discover(): Promise<void> {
		const { chunkSize } = this.options;
		const range = { start: 0, end: chunkSize - 1 };
		const head = new Chunk(0, 0, range.end, performance.now());
		let sent = false;
		await retrying(this, range, () => 0, async () => {
			const request = this.requests.open(range, undefined, head);
			// Discovery's request is on its way first; the first round follows it at once.
			if (!sent) this.#early = this.#firstRound();
			sent = true;
			const opened = await request;
			const { response } = opened;
			try {
				const found = classifyDiscovery(response, range, this.url, this.options);
				if (found.mode !== 'ranges') this.#dropFirstRound();
				if (found.mode === 'empty') this.#empty(opened);
				else if (found.mode === 'whole') this.#streamWhole(opened);
				else if (found.mode === 'plain') {
					discard(opened);
					await this.#single();
				} else {
					const { size } = found;
					const plan = this.plan;
					this.#pinned = resumable(found.pin, size);
					plan.size = size;
					plan.totalChunks = Math.ceil(size / chunkSize);
					const digest = this.#info(response, size, plan.totalChunks === 1 ? 'single' : 'parallel');
					this.facts = { pin: found.pin, totalFromCaller: found.totalFromCaller, crossOrigin: response.type === 'cors', digest };
					head.end = Math.min(chunkSize, size) - 1;
					plan.chunks.set(0, head);
					// The slot held for discovery since the first round went out is its run's now.
					if (this.#early) this.slots.leave('slot');
					this.#early = false;
					this.#resolveDiscovered(true);
					new RangeRequest(this, [head], opened).start();
					// The other chunks start once the first bytes are handed out (see PullSource), or on
					// the next turn at the latest: setting up their requests first would hold back the
					// first bytes, which are already here (time to first byte).
					setTimeout(() => this.schedule(), 0);
				}
				return true;
			} catch (error) {
				discard(opened);
				throw error;
			}
		});
	}

	// ---------------------------------------------------------------- resume

	/**
	 * A resumed download (`resume`): no discovery, since the size and the pin are known. The chunks
	 * are laid out from the checkpoint's offset and every slot's first request goes out at once,
	 * pinned, each answer checked against the pin and total before a byte of it is kept
	 * (`RangeRequest`). `info` resolves with the first answer that passes (see `checked`).
	 */
	#resume(resume: ResumePoint): void {
		const { plan } = this;
		const verified = this.verifier?.expected;
		this.facts = { pin: resume.pin, totalFromCaller: false, crossOrigin: false, ...(verified && verified.source !== 'integrity' ? { digest: verified } : {}) };
		plan.base = resume.offset;
		plan.size = resume.size;
		plan.totalChunks = Math.ceil((resume.size - resume.offset) / this.options.chunkSize);
		plan.nextStart = 0;
		this.#resolveDiscovered(true);
		if (plan.totalChunks === 0) {
			// Nothing left: an empty stream, and no request.
			const { pin } = resume;
			this.#resolveInfo(this.#withDigest({ size: resume.size, mode: 'parallel', resumedFrom: resume.offset, ...(pin.kind === 'etag' ? { etag: pin.etag } : { lastModified: pin.lastModified }) }));
			this.wake();
			return;
		}
		this.schedule();
	}

	/** A range request's answer passed its checks: the first one describes a resumed download. */
	checked(response: Response): void {
		const policy = this.#policy;
		// What the server serves at once, for 'auto': more than when it refused, and it had no such limit.
		if (policy && !this.settled) this.#setConcurrency(policy.answered({ at: performance.now(), serving: this.counters.transferring }), policy.reason);
		const resume = this.options.resume;
		// A digest the server declares on a resumed download is verified only from the hash the
		// checkpoint carried (see the constructor): without it, `info.digest` claims nothing.
		if (resume) this.#resolveInfo(this.#withDigest({ ...describe(response, resume.size, 'parallel'), resumedFrom: resume.offset }));
	}

	/** `info` saying what its bytes are verified against, if anything. */
	#withDigest(info: DownloadInfo): DownloadInfo {
		const verified = this.verifier?.expected;
		if (verified) info.digest = { algorithm: verified.algorithm, source: verified.source, value: encode(verified.values[0] as Uint8Array, verified.encoding) };
		return info;
	}

	/**
	 * Decision 2 of issue 13: with the size known up front (`size`), the chunks can be laid out
	 * before discovery answers, so every other slot's first range goes out along with it, saving
	 * one time to first byte. Those requests cannot be pinned yet: each answer waits for
	 * discovery's verdict and is checked against its validator and total before a byte of it is
	 * kept (`RangeRequest`). Without a known size discovery still goes first: for small objects
	 * `concurrency` requests where one would do cost more than they gain. True when it went out.
	 */
	#firstRound(): boolean {
		const { size, chunkSize } = this.options;
		if (size === undefined || size <= chunkSize) return false;
		const { plan, slots } = this;
		plan.size = size;
		plan.totalChunks = Math.ceil(size / chunkSize);
		// Discovery's own slot, held until its run takes it, so that requests stay within `concurrency`.
		slots.take('slot');
		const limit = plan.limit(false);
		while (slots.free && plan.nextStart < limit) new RangeRequest(this, plan.nextRun(plan.runLength(limit, slots.running))).start();
		return true;
	}

	/** Discovery chose another way to read the object: the first round's chunks go (their requests see `discovered` false). */
	#dropFirstRound(): void {
		if (!this.#early) return;
		this.#early = false;
		const { plan } = this;
		for (let index = 1; index < plan.nextStart; index++) plan.chunks.delete(index);
		plan.nextStart = 1;
		plan.totalChunks = undefined;
		this.slots.leave('slot');
		this.#resolveDiscovered(false);
	}

	/** A 0-byte object. */
	#empty(opened: Opened): void {
		discard(opened);
		checkWholeSize(opened.response, 0, this.url, this.options.size);
		this.plan.size = 0;
		this.plan.totalChunks = 0;
		this.#info(opened.response, 0, 'empty');
		this.wake();
	}

	/** One plain GET without Range: `concurrency: 1`, or no validator to pin parallel requests to. */
	async #single(): Promise<void> {
		await retrying(this, undefined, () => 0, async () => {
			const opened = await this.requests.open(undefined, undefined, undefined);
			if (opened.response.status !== 200) {
				discard(opened);
				throw statusError(opened.response, undefined, this.url);
			}
			this.#streamWhole(opened);
			return true;
		});
	}

	/** This body is the object (`single` mode): streamed into one chunk, never requested twice. */
	#streamWhole(opened: Opened): void {
		const length = wholeLength(opened.response);
		try {
			checkWholeSize(opened.response, length, this.url, this.options.size);
		} catch (error) {
			discard(opened);
			throw error;
		}
		this.plan.size = length;
		if (length === 0) {
			this.#empty(opened);
			return;
		}
		this.plan.totalChunks = 1;
		// A 200 carries a range-able object only where the server says it accepts ranges (RFC 9110 §14.3).
		const { response } = opened;
		const ranges = response.status === 206 || response.headers.get('accept-ranges')?.trim().toLowerCase() === 'bytes';
		if (ranges && length !== undefined) this.#pinned = resumable(pinFromHeaders(response.headers), length);
		this.#info(response, length, 'single');
		const chunk = this.plan.addChunk(0);
		chunk.end = length === undefined ? Number.POSITIVE_INFINITY : length - 1;
		this.slots.take('slot');
		readWhole(this, chunk, opened).then(
			() => this.ended('slot'),
			(error: unknown) => this.fail(error),
		);
	}

	/**
	 * Resolves `info`, and verifies the server's digest of the whole object when it declares one
	 * and the caller gave none (README "Integrity"). Returns the server's digest, if any.
	 */
	#info(response: Response, size: number | undefined, mode: DownloadInfo['mode']): ExpectedDigest | undefined {
		const declared = this.options.verify ? serverDigest(response) : undefined;
		if (!this.verifier && declared) this.#verify(declared);
		this.#resolveInfo(this.#withDigest(describe(response, size, mode)));
		return declared;
	}

	/** From now on the bytes are hashed as they are handed out; the hash code starts loading now. */
	#verify(expected: ExpectedDigest, resumed?: ResumeHash): void {
		const verifier = new Verifier(expected, this.url, resumed?.state);
		this.verifier = verifier;
		// A failure to load is the download's, once the pull source waits for it.
		verifier.load().catch(noop);
	}

	// ---------------------------------------------------------------- the window and the policies

	/**
	 * Hedges stalled chunks, then fills free slots with new runs while the window allows, then
	 * steals tails once every chunk has started. Requests in flight stay within the bounds of
	 * `Slots`.
	 */
	schedule(): void {
		const { plan, slots } = this;
		if (this.settled || plan.totalChunks === undefined || this.facts.pin === undefined) return;
		this.#hedgeStalled();
		const networkBound = this.#source.networkBound();
		const limit = plan.limit(networkBound);
		while (slots.free && plan.nextStart < limit) new RangeRequest(this, plan.nextRun(plan.runLength(limit, slots.running))).start();
		if (slots.free && !networkBound) this.#heldBack = true;
		if (plan.nextStart >= plan.totalChunks) this.#stealTails();
		this.#armHedgeTimer();
		this.#armSampleTimer();
	}

	// ---------------------------------------------------------------- adaptive concurrency

	/**
	 * `'auto'`: what was received since the last sample, for the policy (`policies/concurrency.ts`).
	 * An interval counts only if every slot read throughout: a slot held back by the window (the
	 * consumer sets the pace) or with nothing left to start says nothing about the link.
	 */
	#armSampleTimer(): void {
		const policy = this.#policy;
		if (!policy || this.#sampleTimer !== undefined || this.slots.running === 0 || this.settled) return;
		if (this.#sampledAt === 0) this.#restartSample();
		const every = Math.max(SAMPLE_MS, 2 * (this.requests.ttfb ?? 0));
		this.#sampleTimer = setTimeout(() => {
			this.#sampleTimer = undefined;
			if (this.settled) return;
			const now = performance.now();
			const saturated = !this.#heldBack && !this.#idleSlots() && this.plan.nextStart < (this.plan.totalChunks ?? 0);
			const sample = { at: now, ms: now - this.#sampledAt, bytes: this.counters.bytesReceived - this.#sampledBytes, saturated };
			this.#restartSample();
			this.#setConcurrency(policy.sample(sample), policy.reason);
			this.schedule();
		}, every);
	}

	#restartSample(): void {
		this.#sampledAt = performance.now();
		this.#sampledBytes = this.counters.bytesReceived;
		this.#heldBack = this.#idleSlots();
	}

	/**
	 * A slot is free while the consumer does not wait for bytes: the consumer sets the pace. A
	 * slot held back by the window while the consumer waits is the link's doing (the head chunk
	 * is slow) and counts as the link's pace.
	 */
	#idleSlots(): boolean {
		return this.slots.free && !this.#source.networkBound();
	}

	/** The slots and the window follow the policy's target; runs above a lower one end by themselves. */
	#setConcurrency(concurrency: number, reason: ConcurrencyReason): void {
		if (concurrency === this.slots.concurrency) return;
		this.slots.resize(concurrency);
		this.plan.concurrency = concurrency;
		this.#logConcurrency(concurrency, reason);
	}

	#logConcurrency(concurrency: number, reason: ConcurrencyReason): void {
		const counters = this.counters;
		counters.concurrency = concurrency;
		counters.maxConcurrency = Math.max(counters.maxConcurrency, concurrency);
		const log = counters.concurrencyChanges;
		// Bounded: the first changes (how it converged) and the latest.
		if (log.length >= MAX_CHANGES_LOGGED) log.splice(MAX_CHANGES_LOGGED / 2, 1);
		log.push({ at: Math.round(performance.now() - this.#startedAt), concurrency, reason });
	}

	/** See `policies/stealing.ts`. */
	#stealTails(): void {
		const { options, plan, counters } = this;
		const concurrency = this.slots.concurrency;
		while (this.slots.free && maySteal(options.hedge !== undefined, plan.totalChunks, counters.steals, concurrency)) {
			const pace = slotPace(counters.bytesReceived, performance.now() - this.#startedAt, concurrency);
			const tail = chooseTail(plan.everyChunk(), pace, this.requests.ttfb);
			if (!tail) return;
			const { chunk, share } = tail;
			counters.steals++;
			new RangeRequest(this, [chunk.split(chunk.end + 1 - share, performance.now())]).start();
		}
	}

	/** See `policies/hedging.ts`: the quiet request is left behind, or aborted to ask again at once. */
	#hedgeStalled(): void {
		const hedge = this.options.hedge;
		if (!hedge) return;
		const after = this.hedgeAfter;
		const hedges = stalled({
			now: performance.now(),
			after,
			headersDelay: headersDelay(after, this.requests.ttfb),
			hedges: this.counters.hedges,
			budget: hedgeBudget(hedge.max, this.slots.concurrency, this.plan.totalChunks),
			extra: this.slots.detached,
			most: this.slots.most,
			chunks: this.plan.everyChunk(),
			slotRequest: (chunk) => this.requests.slotRequest(chunk),
		});
		for (const { chunk, request, leave } of hedges) {
			chunk.hedged++;
			this.counters.hedges++;
			if (leave) request.detach?.();
			else request.controller.abort(RESTART);
		}
	}

	/**
	 * Looks for stalled chunks while runs read, those let go early (overlap) included: one of them
	 * may be the last left (the end of the object, or a run left short by a stolen tail). An idle
	 * download (a consumer that stopped reading) keeps no timer.
	 */
	#armHedgeTimer(): void {
		const hedge = this.options.hedge;
		if (!hedge || this.#hedgeTimer !== undefined || this.slots.runs === 0 || this.settled) return;
		if (this.counters.hedges >= hedgeBudget(hedge.max, this.slots.concurrency, this.plan.totalChunks)) return;
		this.#hedgeTimer = setTimeout(() => {
			this.#hedgeTimer = undefined;
			this.schedule();
		}, checkEvery(this.hedgeAfter));
	}
}
