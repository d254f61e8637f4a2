import { isParallelGetError } from '../errors/parallel-get-error.ts';
import { checkWholeSize } from '../http/checks.ts';
import { StallError } from '../errors/stall-error.ts';
import { UnexpectedResponseError } from '../errors/unexpected-response-error.ts';
import { noop } from '../utils/abort.ts';
import type { Bytes, Chunk } from './chunk.ts';
import type { Download } from './download.ts';
import { afterFalseAlarm, afterHedgeWon } from './policies/hedging.ts';
import { isNearEnd } from './policies/overlap.ts';
import type { Opened } from './request.ts';

/** Where a response's pace is measured from: when its first bytes came, and the offset after them. */
interface Pace {
	at: number;
	offset: number;
}

/**
 * Reads a response body into a run of consecutive chunks from `opened.offset` on, each byte into
 * the chunk it belongs to. Bytes past the run's end are never kept: an over-long body fails the
 * download (the server is not sending what it said). True when the read stopped because another
 * request (a hedge, or the quiet one it backs up) completed the chunk being read, which makes this one redundant.
 */
export async function readInto(download: Download, run: readonly Chunk[], opened: Opened): Promise<boolean> {
	const body = opened.response.body;
	let offset = opened.offset;
	if (!body) {
		opened.release();
		return false;
	}
	// What the response was asked for, not where the run ends now: a tail split off the run
	// after the request was sent (see `stealTails`) does not make its body too long.
	const end = Math.min(opened.end, (download.plan.size ?? Number.POSITIVE_INFINITY) - 1);
	let index = 0;
	let chunk = run[0] as Chunk;
	const last = run[run.length - 1] as Chunk;
	const reader = body.getReader();
	const { controller } = opened.request;
	const { signal } = controller;
	// Cancel the body directly on abort: fetch follows the request's signal only while its
	// Request object lives, and once that is collected an abort would never reach this read
	// (a stalled loser of a hedge stayed open for good). Cancelling resolves the pending read.
	const onAbort = (): void => {
		reader.cancel(signal.reason).catch(noop);
	};
	signal.addEventListener('abort', onAbort, { once: true });
	let ended = false;
	/** When this response's first bytes came, and where they ended: its pace is measured from there. */
	let pace: Pace | undefined;
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (signal.aborted) throw signal.reason;
			if (done) {
				ended = true;
				return false;
			}
			if (value.byteLength === 0) continue;
			opened.watchdog.touch();
			if (offset + value.byteLength > end + 1) {
				const error = new UnexpectedResponseError(`the body is longer than the ${end + 1 - opened.offset} bytes asked for`, {
					url: download.url,
					range: { start: opened.offset, end },
					status: opened.response.status,
					code: 'ERR_BODY_TOO_LONG',
				});
				// Fails the download here, not through the run's retries: the extra bytes may come in
				// a read of their own after this request completed its run, when a failure of the run
				// no longer counts (that is for a request made redundant by another).
				download.fail(error);
				throw error;
			}
			if (chunk.length > windowBytes(download)) {
				await readWithin(download, chunk, offset, value, opened);
				offset += value.byteLength;
				continue;
			}
			let piece: Bytes = value;
			for (;;) {
				const room = chunk.end + 1 - offset;
				// The run's last chunk was split: its tail is another request's.
				if (room <= 0) break;
				const part = room >= piece.byteLength ? piece : piece.subarray(0, room);
				accept(download, chunk, offset, part, opened);
				offset += part.byteLength;
				if (offset > chunk.end && index + 1 < run.length) chunk = nextInRun(run, ++index, chunk, controller);
				if (part === piece) break;
				piece = piece.subarray(room);
			}
			if (!pace) pace = { at: performance.now(), offset };
			// Lets the run's slot start its next request early (overlap) once what is left takes no
			// longer, at this response's pace, than a request takes to answer.
			else if (last.nearEnd && isNearEnd(last.end + 1 - offset, performance.now() - pace.at, offset - pace.offset, download.requests.ttfb)) last.nearEnd();
			// Another request completed this chunk (a hedge, or the quiet one it backs up): this one is redundant.
			if (chunk.done && offset <= chunk.end) return true;
			// The run ends short of the range asked for: a tail was split off (see `stealTails`). Past
			// its end, the chunk being read is the run's last: the loop above moves on from any other.
			if (offset > chunk.end && chunk.end < end) return false;
		}
	} catch (error) {
		// Aborted because another request (a hedge, or the quiet one it backs up) completed the chunk being read.
		if (!download.settled && chunk.done && chunk.completedBy !== controller) return true;
		throw download.requests.reason(error, controller);
	} finally {
		signal.removeEventListener('abort', onAbort);
		if (!ended) reader.cancel().catch(noop);
		chunk.requests.delete(controller);
		opened.release(ended);
	}
}

/** Bytes the window holds at most (README "Memory"): for the most connections the download may use, within `maxBuffer`. */
function windowBytes(download: Download): number {
	return download.plan.windowBytes(download.options.concurrency);
}

/**
 * Keeps a piece of a response larger than the window (one plain GET for the whole object) only
 * as the consumer makes room: bytes held never exceed the window (README "Memory"), and the body
 * is not read meanwhile, so the server waits for the consumer. The stall watchdog is off while
 * the consumer is the one that is slow.
 */
async function readWithin(download: Download, chunk: Chunk, offset: number, piece: Bytes, opened: Opened): Promise<void> {
	const most = windowBytes(download);
	const { signal } = opened.request.controller;
	// A piece the verifier holds back (see `Verifier`) is still held: it counts against the window,
	// and parts of at most half the window leave bytes in the chunk for the consumer to take
	// whenever this read waits for room, so that taking one always frees some.
	// The verifier may still be loading: a piece may be held back once it has.
	const held = (): number => download.verifier?.heldBytes ?? 0;
	const largest = download.verifier || download.loading ? Math.max(1, Math.floor(most / 2)) : most;
	for (let at = 0; at < piece.byteLength; ) {
		if (chunk.bufferedBytes + held() >= most) {
			opened.watchdog.stop();
			let onAbort = noop;
			const aborted = new Promise<void>((resolve) => {
				onAbort = resolve;
				signal.addEventListener('abort', onAbort, { once: true });
			});
			try {
				while (chunk.bufferedBytes + held() >= most && !signal.aborted) await Promise.race([download.room(), aborted]);
			} finally {
				signal.removeEventListener('abort', onAbort);
			}
			if (signal.aborted) throw signal.reason;
			opened.watchdog.resume();
		}
		const part = piece.subarray(at, at + Math.min(largest, most - chunk.bufferedBytes - held()));
		accept(download, chunk, offset + at, part, opened);
		at += part.byteLength;
	}
}

/** The read moves on to the run's next chunk: that chunk is now fed by this request. */
function nextInRun(run: readonly Chunk[], index: number, previous: Chunk, controller: AbortController): Chunk {
	const next = run[index] as Chunk;
	previous.requests.delete(controller);
	next.requests.add(controller);
	next.lastProgressAt = performance.now();
	return next;
}

function accept(download: Download, chunk: Chunk, offset: number, bytes: Bytes, opened: Opened): void {
	const fresh = chunk.accept(offset, bytes, performance.now(), opened.request.controller);
	if (fresh === 0) return;
	const fromHedge = opened.request.hedge;
	if (fromHedge) chunk.hedgeDelivered = true;
	if (chunk.done && chunk.hedged > 0) {
		if (fromHedge) {
			download.counters.hedgesWon++;
			download.hedgeAfter = afterHedgeWon(download.hedgeAfter, download.options.hedge?.after ?? download.hedgeAfter);
		}
		// The quiet request woke up and finished before any hedge of it delivered a byte.
		else if (!chunk.hedgeDelivered) download.hedgeAfter = afterFalseAlarm(download.hedgeAfter);
	}
	const counters = download.counters;
	counters.bytesReceived += fresh;
	counters.bufferedBytes += fresh;
	if (counters.bufferedBytes > counters.maxBufferedBytes) counters.maxBufferedBytes = counters.bufferedBytes;
	if (chunk.index === download.plan.nextEmit) download.wake();
}

/** Reads the one response that carries the whole object into its only chunk (`single` mode). */
export async function readWhole(download: Download, chunk: Chunk, opened: Opened): Promise<void> {
	try {
		// The whole object, whatever range was asked for (a server that ignored Range).
		await readInto(download, [chunk], { ...opened, end: Number.POSITIVE_INFINITY });
	} catch (error) {
		if (download.settled) return;
		if (isParallelGetError(error) && !(error instanceof StallError)) throw error;
		// Without a pinned revision the rest cannot be asked for by range safely.
		throw new UnexpectedResponseError(`the response broke off after ${chunk.received} bytes and cannot be resumed`, {
			url: download.url,
			status: opened.response.status,
			code: 'ERR_BODY_TOO_SHORT',
			cause: error,
		});
	}
	if (chunk.end === Number.POSITIVE_INFINITY) {
		// Its length could not be read beforehand (encoded, cross-origin): the caller's `size` is
		// checked now, before the stream can close.
		checkWholeSize(opened.response, chunk.received, download.url, download.options.size);
		chunk.end = chunk.frontier - 1;
		chunk.done = true;
	} else if (!chunk.done) {
		throw new UnexpectedResponseError(`the body ended after ${chunk.received} of ${chunk.length} bytes`, {
			url: download.url,
			status: opened.response.status,
			code: 'ERR_BODY_TOO_SHORT',
		});
	}
}
