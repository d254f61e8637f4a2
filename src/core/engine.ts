import type { ByteRange } from '../errors/parallel-get-error.ts';
import { checkWholeSize, statusError } from '../http/checks.ts';
import type { Verifier } from '../integrity/verifier.ts';
import type { Send } from '../http/request.ts';
import { noop } from '../utils/abort.ts';
import { pinFromHeaders } from '../http/validators.ts';
import { AdaptiveConcurrency, concurrencyPolicy } from './adaptive.ts';
import { readWhole } from './body.ts';
import { type Checkpoint, checkpointOf, type ResumePoint, resumable, type StrongPin } from './checkpoint.ts';
import { type Bytes, Chunk } from './chunk.ts';
import { classifyDiscovery, describe, type DownloadInfo, wholeLength } from './discovery.ts';
import type { Download, Facts } from './download.ts';
import type { NormalizedOptions } from './options.ts';
import { dropFirstRound, sendFirstRound } from './first-round.ts';
import { Plan } from './plan.ts';
import { PullSource } from './pull-source.ts';
import { RangeRequest } from './range-request.ts';
import { discard, type Opened, Requests } from './request.ts';
import { retrying } from './retry.ts';
import { type Place, Slots } from './slots.ts';
import { type DownloadStats, zeroStats } from './stats.ts';
import { Stragglers } from './stragglers.ts';
import { Verification } from './verification.ts';

export type { DownloadInfo } from './discovery.ts';
export type { DownloadStats } from './stats.ts';

/**
 * The download, wired from its parts: discovery (`discovery.ts`) decides the mode; the plan
 * (`plan.ts`) lays out the chunks and bounds the window; each run of chunks is a `RangeRequest`,
 * resumed after faults (`retry.ts`) and holding a place in `Slots`; the straggler policies
 * (`policies/`) decide hedges and stolen tails, which `Stragglers` carries out; `Verification`
 * knows what the bytes are verified against; the `PullSource` hands bytes out in order.
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
	readonly #verification: Verification;
	settled = false;
	#controller: ReadableStreamDefaultController<Bytes> | undefined;
	readonly #stragglers = new Stragglers(this, () => this.#startedAt);
	readonly discovered: Promise<boolean>;
	/** The first round went out with discovery and waits for its verdict (see `first-round.ts`). */
	#early = false;
	#resolveDiscovered!: (pinned: boolean) => void;
	/** The revision and size a checkpoint pins; undefined while unknown, or when it cannot be resumed. */
	#pinned: { pin: StrongPin; size: number } | undefined;
	/** When the download started (`start()`), for its pace so far. */
	#startedAt = performance.now();
	/** `concurrency: 'auto'`, and the log of concurrency changes. */
	readonly #adaptive: AdaptiveConcurrency;

	readonly counters: DownloadStats = zeroStats();

	constructor(url: string, options: NormalizedOptions, send: Send, signals: AbortSignal[]) {
		this.url = url;
		this.options = options;
		this.send = send;
		this.#signals = signals;
		const policy = concurrencyPolicy(options);
		const concurrency = policy?.target ?? options.concurrency;
		this.plan = new Plan(options.chunkSize, concurrency, options.maxBuffer);
		this.slots = new Slots(concurrency);
		this.#adaptive = new AdaptiveConcurrency(this, policy, () => this.#source.networkBound(), () => this.#startedAt);
		this.#adaptive.log(concurrency, 'start');
		this.hedgeAfter = options.hedge?.after ?? 0;
		const resume = options.resume;
		const hash = resume?.hash;
		this.#verification = new Verification(url);
		if (options.integrity) this.#verification.verify(options.integrity, hash);
		else if (hash && options.verify && hash.source !== 'integrity') {
			// A server's digest verified before the checkpoint: verified on, over the whole object,
			// and every response must not declare another (a changed revision).
			this.#verification.verify({ algorithm: hash.algorithm, values: [hash.digest], encoding: 'base64', source: hash.source }, hash);
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
		const hash = this.#verification.checkpointHash(offset, this.options.resume?.hash);
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
		this.#stragglers.stop();
		this.#adaptive.stop();
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
		this.#adaptive.pushback(error);
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
			if (!sent) this.#early = sendFirstRound(this);
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
					this.#info(response, size, plan.totalChunks === 1 ? 'single' : 'parallel');
					this.facts = { pin: found.pin, totalFromCaller: found.totalFromCaller, crossOrigin: response.type === 'cors' };
					head.end = Math.min(chunkSize, size) - 1;
					plan.chunks.set(0, head);
					// The slot held for discovery since the first round went out is its run's now.
					if (this.#early) this.slots.leave('slot');
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
		this.facts = { pin: resume.pin, totalFromCaller: false, crossOrigin: false };
		plan.base = resume.offset;
		plan.size = resume.size;
		plan.totalChunks = Math.ceil((resume.size - resume.offset) / this.options.chunkSize);
		plan.nextStart = 0;
		// No request waits for `discovered`: each is pinned from the first. Called from `start()`, so
		// no `pull()` waits yet either.
		if (plan.totalChunks === 0) {
			// Nothing left: an empty stream, and no request.
			const { pin } = resume;
			this.#resolveInfo(this.#verification.describe({ size: resume.size, mode: 'parallel', resumedFrom: resume.offset, ...(pin.kind === 'etag' ? { etag: pin.etag } : { lastModified: pin.lastModified }) }));
			return;
		}
		this.schedule();
	}

	/** A range request's answer passed its checks: the first one describes a resumed download. */
	checked(response: Response): void {
		this.#adaptive.answered();
		const resume = this.options.resume;
		// A digest the server declares on a resumed download is verified only from the hash the
		// checkpoint carried (see the constructor): without it, `info.digest` claims nothing.
		if (resume) this.#resolveInfo(this.#verification.describe({ ...describe(response, resume.size, 'parallel'), resumedFrom: resume.offset }));
	}

	/** Discovery chose another way to read the object: see `dropFirstRound`. */
	#dropFirstRound(): void {
		if (!this.#early) return;
		this.#early = false;
		dropFirstRound(this);
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
		// Streamed whole, the body is a 200's (discovery's `whole` or the plain GET's): it carries a
		// range-able object only where the server says it accepts ranges (RFC 9110 §14.3). Headers
		// come with their whitespace stripped (Fetch: normalize).
		const { response } = opened;
		const ranges = response.headers.get('accept-ranges')?.toLowerCase() === 'bytes';
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
	 * Resolves `info`, once the server's digest of the whole object, if the response declares one,
	 * is known to be verified or not (see `Verification.declared`).
	 */
	#info(response: Response, size: number | undefined, mode: DownloadInfo['mode']): void {
		const info = describe(response, size, mode);
		const resolve = (): void => this.#resolveInfo(this.#verification.describe(info));
		if (!this.options.verify) resolve();
		else this.#verification.declared(response).then(resolve, resolve);
	}

	/** See `Download.verifier`, `Download.loading`. */
	get verifier(): Verifier | undefined {
		return this.#verification.verifier;
	}

	get loading(): Promise<void> | undefined {
		return this.#verification.loading;
	}

	checkDigest(response: Response, range: ByteRange): void {
		this.#verification.checkDigest(response, range);
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
		this.#stragglers.hedge();
		const networkBound = this.#source.networkBound();
		const limit = plan.limit(networkBound);
		while (slots.free && plan.nextStart < limit) new RangeRequest(this, plan.nextRun(plan.runLength(limit, slots.running))).start();
		if (slots.free && !networkBound) this.#adaptive.heldBack();
		if (plan.nextStart >= plan.totalChunks) this.#stragglers.stealTails();
		this.#stragglers.arm();
		this.#adaptive.arm();
	}
}
