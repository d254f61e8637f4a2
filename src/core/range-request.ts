import { UnexpectedResponseError } from '../errors/unexpected-response-error.ts';
import { checkPartial } from '../http/checks.ts';
import { carriesPin } from '../http/validators.ts';
import { noop } from '../utils/abort.ts';
import type { Chunk } from './chunk.ts';
import { readInto } from './body.ts';
import type { Download } from './download.ts';
import { received, remaining } from './plan.ts';
import { discard, type Opened, RESTART, type Tracked } from './request.ts';
import { isRetryable, retrying } from './retry.ts';
import type { Place } from './slots.ts';

/** How one request of a run ended; see `RangeRequest.attempt`. */
type Outcome = 'done' | 'superseded' | 'detached' | 'restarted';

/**
 * One range request's life: a run of consecutive chunks fetched on one request at a time, from a
 * slot. After a fault, once a hedge finished the chunk being read, or when the request went quiet
 * and was left behind (hedged), the next request starts at the first byte still missing; each is
 * checked (`checkPartial`) before a byte of it is kept.
 *
 * The run holds a slot from `start()` to its end; let go early (overlap), it holds an `early`
 * place instead, for the rest of its life, retries included. Each of its requests has its own
 * state (`Tracked.state`): only the one the run reads is its own; one left behind holds a
 * `detached` place until it ends by itself.
 */
export class RangeRequest {
	readonly #download: Download;
	readonly #run: readonly Chunk[];
	/** The discovery response, read by the first attempt only (see `start`). */
	#first: Opened | undefined;
	/** The last request was left behind or restarted: the next one is a hedge. */
	#hedging = false;
	/** What the run holds while it lives: a slot, or a place on top once let go early. */
	#place: Place = 'slot';

	constructor(download: Download, run: readonly Chunk[], first?: Opened) {
		this.#download = download;
		this.#run = run;
		this.#first = first;
	}

	/** Takes a slot and runs the requests until the run is complete. */
	start(): void {
		const download = this.#download;
		const run = this.#run;
		const last = run[run.length - 1] as Chunk;
		download.slots.take('slot');
		if (download.options.overlap) last.nearEnd = () => this.#letGo();
		retrying(download, run, () => received(run), async () => {
			const from = run.findIndex((chunk) => !chunk.done);
			// A hedge may have completed the run while this one waited to retry.
			if (from === -1) return true;
			// The first response is used once: an attempt that fails has read (and locked) its body,
			// so the retry must send a new request, never read the old body again.
			const first = this.#first;
			this.#first = undefined;
			const outcome = await this.#attempt(run.slice(from), first);
			this.#hedging = outcome === 'detached' || outcome === 'restarted';
			return outcome === 'done';
		}).then(
			() => {
				last.nearEnd = undefined;
				download.ended(this.#place);
			},
			(error: unknown) => download.fail(error),
		);
	}

	/**
	 * Near its end (overlap), the run gives its slot back so that the slot's next request starts
	 * while this one reads its last bytes (see `Slots.mayLetGo`).
	 */
	#letGo(): void {
		const download = this.#download;
		if (download.settled || !download.slots.mayLetGo) return;
		(this.#run[this.#run.length - 1] as Chunk).nearEnd = undefined;
		this.#place = 'early';
		download.slots.move('slot', 'early');
		download.counters.overlaps++;
		download.schedule();
	}

	/**
	 * One request for the rest of a run, read until the run is complete ('done'), until another
	 * request completed the chunk being read ('superseded'), or until the hedging leaves it behind
	 * ('detached': it goes on by itself, holding a `detached` place until it ends) or aborts it to ask
	 * again ('restarted').
	 */
	async #attempt(pending: readonly Chunk[], first: Opened | undefined): Promise<Outcome> {
		const download = this.#download;
		const last = pending[pending.length - 1] as Chunk;
		let request: Tracked | undefined;
		let detach!: () => void;
		const detached = new Promise<'detached'>((resolve) => {
			detach = () => {
				// Reachable only through `request.detach`: the request is known by then.
				const left = request as Tracked;
				left.state = 'detached';
				left.detach = undefined;
				download.slots.take('detached');
				resolve('detached');
			};
		});
		const track = (started: Tracked): void => {
			request = started;
			started.detach = detach;
			if (this.#hedging) started.hedge = true;
		};
		const work = (async (): Promise<'done' | 'superseded'> => {
			if (first) track(first.request);
			const current = first ?? (await this.#openRange(pending, track));
			// Sent with discovery, which chose another way to read the object: nothing of it is kept.
			if (current === undefined) return 'done';
			const superseded = await readInto(download, pending, current);
			if (last.done) return 'done';
			if (superseded) return 'superseded';
			throw new UnexpectedResponseError(`the body ended ${last.end + 1 - remaining(pending).start} bytes short`, {
				url: download.url,
				range: { start: current.offset, end: last.end },
				status: current.response.status,
				code: 'ERR_BODY_TOO_SHORT',
				retryable: true,
			});
		})();
		let outcome: Outcome;
		try {
			outcome = await Promise.race([work, detached]);
		} catch (error) {
			// Failed before the detach took effect: nothing was left behind after all.
			if (request?.state === 'detached') download.slots.leave('detached');
			if (request) request.state = error === RESTART ? 'aborted' : 'failed';
			if (error === RESTART) return 'restarted';
			throw error;
		} finally {
			if (request) request.detach = undefined;
		}
		const current = request as Tracked;
		if (outcome === 'detached') this.#leaveBehind(work, pending, current);
		else {
			if (current.state === 'detached') download.slots.leave('detached');
			current.state = outcome;
		}
		return outcome;
	}

	/** A request left behind by its slot: it ends by itself; only a fatal verdict (412, too long) still counts. */
	#leaveBehind(work: Promise<'done' | 'superseded'>, pending: readonly Chunk[], request: Tracked): void {
		const download = this.#download;
		work.then(
			(outcome) => {
				request.state = outcome;
				download.ended('detached');
			},
			(error: unknown) => {
				request.state = 'failed';
				if (!download.settled && !isRetryable(error) && !pending.every((chunk) => chunk.done)) download.fail(error);
				download.ended('detached');
			},
		);
	}

	/**
	 * A pinned request for the rest of a run of chunks, its answer checked before any byte is kept.
	 * In the first round sent along with discovery (the size known, issue 13), the pin is not known
	 * yet: the request goes unpinned, and its answer waits for discovery's verdict, then must carry
	 * the validator that pins (no precondition guarded it). Undefined when discovery chose another
	 * way to read the object.
	 */
	async #openRange(run: readonly Chunk[], started: (request: Tracked) => void): Promise<Opened | undefined> {
		const download = this.#download;
		const { url, plan, requests } = download;
		const { size } = plan;
		const early = download.facts.pin === undefined;
		const range = remaining(run);
		const last = size !== undefined && range.end === size - 1;
		// The last chunk of an early round asks open-ended: its total comes from the caller's `size`.
		const opened = await requests.open(range, download.facts.pin, run[0], last && (early || download.facts.totalFromCaller), started);
		try {
			if (early && !(await this.#verdict(opened, run))) {
				discard(opened);
				return undefined;
			}
			const { pin, totalFromCaller } = download.facts;
			checkPartial(opened.response, range, { url, pin, size, totalFromCaller });
			// The digest header is compared by the code that verifies, which may still be loading.
			const loading = download.loading;
			if (loading) await this.#quietly(opened, run, loading.catch(noop));
			download.checkDigest(opened.response, range);
			if (early && pin && !carriesPin(pin, opened.response.headers)) {
				throw new UnexpectedResponseError(`sent before the revision was pinned, the answer carries no ${pin.kind === 'etag' ? 'ETag' : 'Last-Modified'} to compare`, {
					url,
					range,
					status: opened.response.status,
					retryable: true,
				});
			}
			download.checked(opened.response);
			return opened;
		} catch (error) {
			discard(opened);
			throw error;
		}
	}

	/** Discovery's verdict: true once the ranges are pinned and the download goes on. */
	async #verdict(opened: Opened, run: readonly Chunk[]): Promise<boolean> {
		const pinned = await this.#quietly(opened, run, this.#download.discovered);
		return pinned && !this.#download.settled;
	}

	/**
	 * Waits for `wait` (discovery's verdict, the code that verifies) without reading a byte; no
	 * stall is counted meanwhile, nor a hedge.
	 */
	async #quietly<T>(opened: Opened, run: readonly Chunk[], wait: Promise<T>): Promise<T> {
		opened.watchdog.stop();
		const result = await wait;
		opened.watchdog.resume();
		const now = performance.now();
		for (const chunk of run) chunk.lastProgressAt = now;
		return result;
	}
}
