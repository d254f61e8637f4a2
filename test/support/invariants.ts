/**
 * The checks every fault schedule's run must pass, whatever was drawn (see schedules.ts). Pure
 * functions of what the run produced, so that a browser version can apply them too.
 */
import type { Schedule } from './schedules.ts';

/** The documented `code` of every ParallelGetError (README "Errors"). */
export const ERROR_CODES = new Set([
	'ERR_REVISION_CHANGED',
	'ERR_UNEXPECTED_RESPONSE',
	'ERR_RETRIES_EXHAUSTED',
	'ERR_STALLED',
	'ERR_BODY_TOO_LONG',
	'ERR_BODY_TOO_SHORT',
	'ERR_NO_READABLE_STREAM',
	'ERR_INTEGRITY',
]);

const LIBRARY_ERRORS = new Set(['ParallelGetError', 'RevisionChangedError', 'UnexpectedResponseError', 'RetriesExhaustedError', 'StallError', 'IntegrityError']);

/** The error and every `cause` under it (and the members of an AggregateError), cycles cut. */
export function causeChain(error: unknown): unknown[] {
	const out: unknown[] = [];
	const queue: unknown[] = [error];
	const seen = new Set<unknown>();
	while (queue.length > 0) {
		const next = queue.shift();
		if (next === undefined || next === null || seen.has(next)) continue;
		seen.add(next);
		out.push(next);
		if (typeof next === 'object') {
			const { cause, errors } = next as { cause?: unknown; errors?: unknown };
			if (cause !== undefined) queue.push(cause);
			if (Array.isArray(errors)) queue.push(...errors);
		}
	}
	return out;
}

function describeOne(error: unknown): string {
	if (!(error instanceof Error)) return String(error);
	const code = (error as { code?: unknown }).code;
	return `${error.name}${code === undefined ? '' : ` [${String(code)}]`}: ${error.message}`;
}

export function describeError(error: unknown): string {
	return causeChain(error).map(describeOne).join(' <- ');
}

/**
 * How a network fault surfaces in fetch (undici): a TypeError 'fetch failed' (no response) or
 * 'terminated' (the body broke off), caused by a socket error; or a DOMException / ky error
 * naming the abort. These are the faults the schedules inject, not programming errors.
 */
export function isNetworkFault(error: Error): boolean {
	if (error.name === 'TypeError' && (error.message === 'fetch failed' || error.message === 'terminated')) return true;
	return false;
}

/**
 * A programming error anywhere in the chain: a TypeError other than fetch's own network ones, a
 * RangeError, ReferenceError, SyntaxError, or a Node error with code ERR_INVALID_STATE (a stream
 * or controller misused). `networkFault` tells the runtime's own network errors (undici's by
 * default; a browser's fetch words them otherwise).
 */
export function programmingError(error: unknown, networkFault: (error: Error) => boolean = isNetworkFault): unknown {
	for (const link of causeChain(error)) {
		if (!(link instanceof Error)) continue;
		const code = (link as { code?: unknown }).code;
		if (code === 'ERR_INVALID_STATE' || code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE') return link;
		if (link instanceof TypeError && !networkFault(link)) return link;
		if (link instanceof RangeError || link instanceof ReferenceError || link instanceof SyntaxError) return link;
		if (!typedError(link) && /invalid state|is locked|already (closed|errored)|cannot (close|enqueue)/i.test(link.message)) return link;
	}
	return undefined;
}

/** A ParallelGetError, by name and code as the guards compare it, with a documented code. */
export function typedError(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	const code = (error as { code?: unknown }).code;
	return LIBRARY_ERRORS.has(error.name) && typeof code === 'string' && ERROR_CODES.has(code);
}

/** How the consumer's read ended. */
export type Outcome = { kind: 'done' } | { kind: 'error'; error: unknown } | { kind: 'cancelled' };

/**
 * Output: the whole of one revision after 'done'; otherwise a prefix of one revision. `emitted`
 * is what the consumer read, `revisions` the bytes of every revision the origin served.
 */
export function checkOutput(outcome: Outcome, emitted: Uint8Array, revisions: readonly Uint8Array[], prefixesOnly: readonly Uint8Array[] = []): string | undefined {
	const prefixOf = (bytes: Uint8Array): boolean => {
		if (emitted.byteLength > bytes.byteLength) return false;
		for (let i = 0; i < emitted.byteLength; i++) if (emitted[i] !== bytes[i]) return false;
		return true;
	};
	const matching = revisions.findIndex((bytes) => prefixOf(bytes) && (outcome.kind !== 'done' || bytes.byteLength === emitted.byteLength));
	if (matching !== -1) return undefined;
	// Bytes that fail verification (issue 14): a consumer may see a proper prefix of them before
	// ERR_INTEGRITY, never all (the last piece is held back). Before another error all of them may
	// have come: a total that claims more bytes than the server has leaves nothing looking like the
	// end to hold back (found by the Chromium schedules, SEED=496001116 VARIANT=page).
	const integrityFailed = outcome.kind === 'error' && (outcome.error as { code?: unknown } | undefined)?.code === 'ERR_INTEGRITY';
	if (outcome.kind !== 'done' && prefixesOnly.some((bytes) => (integrityFailed ? emitted.byteLength < bytes.byteLength : true) && prefixOf(bytes))) return undefined;
	const sizes = revisions.map((bytes) => bytes.byteLength).join(', ');
	let at = 0;
	const first = revisions[0] ?? new Uint8Array(0);
	while (at < emitted.byteLength && at < first.byteLength && emitted[at] === first[at]) at++;
	return outcome.kind === 'done'
		? `the output (${emitted.byteLength} bytes) is not the bytes of any revision (sizes ${sizes}); it leaves revision 1 at byte ${at}`
		: `the ${emitted.byteLength} bytes read before the end are not a prefix of any revision (sizes ${sizes}); they leave revision 1 at byte ${at}`;
}

/** How the stream may end: the object, a typed error, or the caller's own reason. */
export function checkOutcome(outcome: Outcome, s: Schedule, abortReason: unknown, networkFault: (error: Error) => boolean = isNetworkFault): string | undefined {
	if (outcome.kind !== 'error') {
		if (outcome.kind === 'cancelled' && s.consumer.ending.kind !== 'cancel') return 'cancelled without a cancel drawn';
		return undefined;
	}
	const { error } = outcome;
	const bad = programmingError(error, networkFault);
	if (bad !== undefined) return `a programming error: ${describeError(bad)} (in ${describeError(error)})`;
	if (error === abortReason) return s.consumer.ending.kind === 'abort' ? undefined : 'the abort reason without an abort drawn';
	if (!typedError(error)) return `not a ParallelGetError with a documented code, nor the abort reason: ${describeError(error)}`;
	return undefined;
}

export interface StatsLike {
	requests: number;
	maxTransferring: number;
	retries: number;
	hedges: number;
	steals: number;
	maxInFlight: number;
	maxBufferedBytes: number;
	/** Slots in use at most (absent in stats from before `'auto'`). */
	maxConcurrency?: number;
	inFlight: number;
}

/**
 * The documented bounds (README "Options", "Straggler mitigation", "Memory"): requests in
 * flight within `concurrency + max(1, ceil(concurrency / 4))`, twice `concurrency` plus that
 * with overlap on, responses read at once within requests in flight, bytes held within
 * `2 x concurrency x chunkSize` and `maxBuffer`, requests within one per chunk plus discovery's, plus one per
 * retry, hedge and steal, and steals within `2 x concurrency`. `size` is the largest of the
 * sizes the download may have believed (a wrong total is believed until contradicted). With
 * `'auto'`, `concurrency` is its `max`: the most it may use.
 */
export function checkStats(stats: StatsLike, s: Schedule, size: number): string[] {
	const { concurrency } = s.options;
	const { chunkSize } = s;
	const out: string[] = [];
	const inFlightBound = (s.options.overlap ? 2 : 1) * concurrency + Math.max(1, Math.ceil(concurrency / 4));
	if (stats.maxInFlight > inFlightBound) out.push(`maxInFlight ${stats.maxInFlight} > ${inFlightBound} (overlap ${s.options.overlap})`);
	if (stats.maxTransferring > stats.maxInFlight) out.push(`maxTransferring ${stats.maxTransferring} > maxInFlight ${stats.maxInFlight}`);
	const budget = s.options.maxBufferChunks === null ? Number.POSITIVE_INFINITY : s.options.maxBufferChunks * chunkSize;
	const window = Math.min(2 * concurrency * chunkSize, budget);
	if (stats.maxBufferedBytes > window) out.push(`maxBufferedBytes ${stats.maxBufferedBytes} > ${window} (2 x ${concurrency} x ${chunkSize}, maxBuffer ${budget})`);
	const requestBound = Math.max(1, Math.ceil(size / chunkSize)) + 1 + stats.retries + stats.hedges + stats.steals;
	if (stats.requests > requestBound) {
		out.push(`requests ${stats.requests} > ${requestBound} (chunks + 1 + ${stats.retries} retries + ${stats.hedges} hedges + ${stats.steals} steals)`);
	}
	if (stats.maxConcurrency !== undefined && stats.maxConcurrency > concurrency) out.push(`maxConcurrency ${stats.maxConcurrency} > ${concurrency}`);
	if (stats.steals > 2 * concurrency) out.push(`steals ${stats.steals} > ${2 * concurrency}`);
	return out;
}
