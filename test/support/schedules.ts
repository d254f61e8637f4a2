/**
 * Seeded fault schedules: what the origin does to each request of one download, what the
 * consumer does with the stream, and the options of the download, drawn by fast-check from a seed
 * (so a failure replays from `seed` + `path`, and shrinks to a smaller schedule).
 *
 * Plain data only (JSON), with no runtime imports beyond fast-check: the Node property test
 * (test/fault-schedules.test.ts) turns a schedule into the origin's fault rule, and a browser
 * version can do the same with its own origin.
 */
import fc from 'fast-check';

const KiB = 1024;

/** Where in a response's body a fault strikes, resolved against the body's length. */
export type At = { edge: 'first' } | { edge: 'second' } | { edge: 'last' } | { edge: 'fraction'; fraction: number };

export type FaultKind =
	/** Destroys the connection after some of the body (a reset). */
	| { kind: 'reset'; at: At }
	/** Ends the response cleanly after some of the body (chunked, no Content-Length): a clean close, short. */
	| { kind: 'short'; at: At }
	/** Sends `bytes` more than the range asked for (chunked, no Content-Length). */
	| { kind: 'long'; bytes: number }
	/** Closes the connection before any response. */
	| { kind: 'drop' }
	/** Pauses mid-body for `ms`, or (null) until the client gives up on the request. */
	| { kind: 'stall'; at: At; ms: number | null }
	/** Waits `ms` before the headers (a slow time to first byte). */
	| { kind: 'delay'; ms: number }
	/** 503 or 429, with or without a Retry-After (seconds, or an HTTP-date). */
	| { kind: 'status'; status: 503 | 429; retryAfter: string | null }
	/** 200 with the whole object, Range ignored. */
	| { kind: 'ignoreRange' }
	/** A 206 whose Content-Range names another range (the body is still the one asked for). */
	| { kind: 'otherRange'; shift: number }
	/** A 206 whose Content-Range says another total. */
	| { kind: 'wrongTotal'; delta: number }
	/** No ETag (and, with `lastModified: false`, no Last-Modified either). */
	| { kind: 'noValidator'; lastModified: boolean }
	/** The body paced so that it takes about `ms` in all. */
	| { kind: 'trickle'; ms: number };

/**
 * Which requests a fault strikes: the `nth` to `nth + times - 1` requests whose range starts in
 * chunk `chunk` (taken modulo the object's chunk count; a request without Range counts for chunk
 * 0), or the `request`-th request of the download. Keyed by chunk, a schedule strikes the same
 * chunk whatever order the slots' requests reach the origin in.
 */
export type When = { chunk: number; nth: number; times: number } | { request: number };

export interface ScheduledFault {
	when: When;
	fault: FaultKind;
}

/** The object is replaced (a new revision: new ETag and Last-Modified) once `afterRequest` requests have arrived. */
export interface RevisionChange {
	afterRequest: number;
	/** New content (another seed) or the same bytes under a new validator. */
	sameBytes: boolean;
	/** A size change, in bytes (0: the same size). */
	sizeDelta: number;
}

export type Reading = { pace: 'fast' } | { pace: 'slow'; msPer64KiB: number };

export type Ending =
	| { kind: 'read' }
	/** `reader.cancel(reason)` once `fraction` of the object (at least one read) has been read. */
	| { kind: 'cancel'; fraction: number }
	/** The caller's AbortController aborts with its own reason `ms` after the start. */
	| { kind: 'abort'; ms: number };

export interface Consumer {
	reading: Reading;
	/** Stops reading for `ms` once `fraction` of the object has been read. */
	pause: { fraction: number; ms: number } | null;
	ending: Ending;
	/** Reads one branch of `readable.tee()`; the other is left alone and cancelled at the end. */
	tee: boolean;
}

export interface DrawnOptions {
	/** The fixed concurrency, or the `max` of `'auto'` (`{ min: 1, max: concurrency }`). */
	concurrency: number;
	auto: boolean;
	/** `maxBuffer` in chunks (at least `chunkSize`), or not given. */
	maxBufferChunks: number | null;
	/** false, or hedging with a small `after` (and sometimes a small `max`). */
	hedge: false | { after: number; max: number | null };
	overlap: boolean;
	stallTimeout: number;
	retryLimit: number;
	/** Caps every Retry-After, so that `Retry-After: 120` costs milliseconds. */
	maxRetryAfter: number;
	/** The runtime's ReadableStream, or web-streams-polyfill's (the reference implementation). */
	stream: 'native' | 'ponyfill';
	/** The `size` option: not given, the object's size, or one byte more. */
	givenSize: 'none' | 'right' | 'wrong';
	/** An `onProgress` callback, whose reports are checked too. */
	progress: boolean;
}

/**
 * A digest to verify (issue 14): the caller's `integrity` of the first revision, or a digest
 * header the origin sends with every response (of the object as it is then). `corruptAt`: the
 * origin flips the object's byte at this fraction of its size in every response that carries it,
 * every header still right.
 */
export interface IntegrityDraw {
	by: 'option' | 'repr-digest' | 'x-goog-hash' | 'x-ms-blob-content-md5';
	algorithm: 'sha256' | 'sha512' | 'md5' | 'crc32c' | 'crc64nvme';
	corruptAt: number | null;
}

/**
 * The download resumes an earlier one: a first run without faults reads `fraction` of the object
 * (to its end at 1), and the scheduled run continues from its checkpoint (`resume`).
 */
export interface Resume {
	fraction: number;
}

export interface Schedule {
	chunkSize: number;
	size: number;
	seed: number;
	options: DrawnOptions;
	faults: ScheduledFault[];
	revision: RevisionChange | null;
	consumer: Consumer;
	integrity: IntegrityDraw | null;
	resume: Resume | null;
}

/** Chunk sizes: small powers of two, and odd ones that do not line up with the origin's 64 KiB slices. */
const chunkSizes = [16 * KiB, 64 * KiB, 100_003, 256 * KiB, 512 * KiB, 1024 * KiB] as const;

/** Object sizes around the edges of `chunkSize`, kept to a few MiB so that hundreds of runs take a minute. */
function sizeFor(chunkSize: number): fc.Arbitrary<number> {
	const maxChunks = Math.max(2, Math.min(40, Math.floor((4 * 1024 * KiB) / chunkSize)));
	return fc.oneof(
		fc.constantFrom(0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize, 2 * chunkSize + 1),
		fc.record({ chunks: fc.integer({ min: 1, max: maxChunks }), offset: fc.constantFrom(-1, 0, 1) }).map(({ chunks, offset }) => chunks * chunkSize + offset),
		fc.integer({ min: 1, max: maxChunks * chunkSize }),
	);
}

const at: fc.Arbitrary<At> = fc.oneof(
	fc.constant({ edge: 'first' } as const),
	fc.constant({ edge: 'second' } as const),
	fc.constant({ edge: 'last' } as const),
	fc.double({ min: 0, max: 1, noNaN: true }).map((fraction) => ({ edge: 'fraction', fraction }) as const),
);

const retryAfter: fc.Arbitrary<string | null> = fc.constantFrom(null, '0', '1', '120', 'Wed, 21 Oct 2015 07:28:00 GMT', 'Fri, 01 Jan 2100 00:00:00 GMT', 'soon');

export const faultKind: fc.Arbitrary<FaultKind> = fc.oneof(
	{ arbitrary: at.map((a) => ({ kind: 'reset', at: a }) as const), weight: 4 },
	{ arbitrary: at.map((a) => ({ kind: 'short', at: a }) as const), weight: 2 },
	{ arbitrary: fc.constantFrom(1, 15, 4096).map((bytes) => ({ kind: 'long', bytes }) as const), weight: 1 },
	{ arbitrary: fc.constant({ kind: 'drop' } as const), weight: 1 },
	{ arbitrary: fc.record({ at, ms: fc.option(fc.integer({ min: 10, max: 400 }), { nil: null }) }).map(({ at: a, ms }) => ({ kind: 'stall', at: a, ms }) as const), weight: 3 },
	{ arbitrary: fc.integer({ min: 1, max: 150 }).map((ms) => ({ kind: 'delay', ms }) as const), weight: 2 },
	{ arbitrary: fc.record({ status: fc.constantFrom(503 as const, 429 as const), retryAfter }).map((s) => ({ kind: 'status', ...s }) as const), weight: 3 },
	{ arbitrary: fc.constant({ kind: 'ignoreRange' } as const), weight: 1 },
	{ arbitrary: fc.constantFrom(-1, 1, 16, 4096).map((shift) => ({ kind: 'otherRange', shift }) as const), weight: 1 },
	{ arbitrary: fc.constantFrom(-1, 1, -4096, 4096).map((delta) => ({ kind: 'wrongTotal', delta }) as const), weight: 1 },
	{ arbitrary: fc.boolean().map((lastModified) => ({ kind: 'noValidator', lastModified }) as const), weight: 1 },
	{ arbitrary: fc.integer({ min: 20, max: 300 }).map((ms) => ({ kind: 'trickle', ms }) as const), weight: 1 },
);

const when: fc.Arbitrary<When> = fc.oneof(
	{ arbitrary: fc.record({ chunk: fc.nat({ max: 40 }), nth: fc.constantFrom(1, 1, 1, 2, 3), times: fc.integer({ min: 1, max: 7 }) }), weight: 3 },
	// The first requests more often: discovery is the one request every download has.
	{ arbitrary: fc.record({ chunk: fc.constant(0), nth: fc.integer({ min: 1, max: 2 }), times: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
	{ arbitrary: fc.integer({ min: 1, max: 12 }).map((request) => ({ request })), weight: 2 },
	{ arbitrary: fc.integer({ min: 13, max: 30 }).map((request) => ({ request })), weight: 1 },
);

const options: fc.Arbitrary<DrawnOptions> = fc.record({
	concurrency: fc.integer({ min: 1, max: 8 }),
	auto: fc.boolean(),
	maxBufferChunks: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 12 }), weight: 1 }),
	hedge: fc.oneof(
		fc.constant(false as const),
		fc.record({ after: fc.integer({ min: 20, max: 80 }), max: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 4 }), weight: 1 }) }),
	),
	overlap: fc.boolean(),
	stallTimeout: fc.integer({ min: 400, max: 700 }),
	retryLimit: fc.integer({ min: 0, max: 5 }),
	maxRetryAfter: fc.integer({ min: 1, max: 30 }),
	stream: fc.constantFrom('native' as const, 'ponyfill' as const),
	givenSize: fc.constantFrom('none' as const, 'none' as const, 'none' as const, 'right' as const, 'wrong' as const),
	progress: fc.boolean(),
});

const consumer: fc.Arbitrary<Consumer> = fc.record({
	reading: fc.oneof(
		{ arbitrary: fc.constant({ pace: 'fast' } as const), weight: 3 },
		{ arbitrary: fc.integer({ min: 1, max: 8 }).map((msPer64KiB) => ({ pace: 'slow', msPer64KiB }) as const), weight: 1 },
	),
	pause: fc.oneof(
		{ arbitrary: fc.constant(null), weight: 2 },
		{ arbitrary: fc.record({ fraction: fc.double({ min: 0, max: 1, noNaN: true }), ms: fc.integer({ min: 1, max: 400 }) }), weight: 1 },
	),
	ending: fc.oneof(
		{ arbitrary: fc.constant({ kind: 'read' } as const), weight: 6 },
		{ arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((fraction) => ({ kind: 'cancel', fraction }) as const), weight: 1 },
		{ arbitrary: fc.integer({ min: 0, max: 300 }).map((ms) => ({ kind: 'abort', ms }) as const), weight: 1 },
	),
	tee: fc.boolean(),
});

const revision: fc.Arbitrary<RevisionChange | null> = fc.oneof(
	{ arbitrary: fc.constant(null), weight: 4 },
	{ arbitrary: fc.record({ afterRequest: fc.integer({ min: 1, max: 12 }), sameBytes: fc.boolean(), sizeDelta: fc.constantFrom(0, 0, 1, -1, 100_000) }), weight: 1 },
);

const integrity: fc.Arbitrary<IntegrityDraw | null> = fc.oneof(
	{ arbitrary: fc.constant(null), weight: 3 },
	{
		arbitrary: fc.record({
			by: fc.constantFrom('option' as const, 'option' as const, 'repr-digest' as const, 'x-goog-hash' as const, 'x-ms-blob-content-md5' as const),
			algorithm: fc.constantFrom('sha256' as const, 'sha512' as const, 'md5' as const, 'crc32c' as const, 'crc64nvme' as const),
			corruptAt: fc.oneof({ arbitrary: fc.constant(null), weight: 1 }, { arbitrary: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), weight: 1 }),
		}),
		weight: 1,
	},
);

/** One download: object, options, faults and consumer. */
export const schedule: fc.Arbitrary<Schedule> = fc
	.constantFrom(...chunkSizes)
	.chain((chunkSize) =>
		fc.record({
			chunkSize: fc.constant(chunkSize),
			size: sizeFor(chunkSize),
			seed: fc.integer({ min: 1, max: 1_000_000 }),
			options,
			// Often none, so that clean downloads are checked too (they must succeed).
			faults: fc.oneof(
				{ arbitrary: fc.constant<ScheduledFault[]>([]), weight: 1 },
				{ arbitrary: fc.array<ScheduledFault>(fc.record({ when, fault: faultKind }), { minLength: 1, maxLength: 8 }), weight: 4 },
			),
			revision,
			consumer,
			integrity,
			// Fractions per mille: fast-check's doubles lean to 0 and tiny values, offsets would too.
			resume: fc.oneof(
				{ arbitrary: fc.constant(null), weight: 4 },
				{ arbitrary: fc.oneof({ arbitrary: fc.constantFrom(0, 1), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: 999 }).map((n) => n / 1000), weight: 4 }).map((fraction) => ({ fraction })), weight: 1 },
			),
		}),
	);

/** The body offset `at` names in a body of `length` bytes. */
export function resolveAt(where: At, length: number): number {
	switch (where.edge) {
		case 'first':
			return 0;
		case 'second':
			return Math.min(1, length);
		case 'last':
			return Math.max(0, length - 1);
		case 'fraction':
			return Math.floor(where.fraction * length);
	}
}

/**
 * A generous upper bound, in ms, of how long a run may take, from what was drawn: every stall,
 * delay, trickle, Retry-After and pause as if each were paid in full on every request it may
 * strike, each stall (and each attempt) up to `stallTimeout`, plus a slow consumer's reading
 * time, plus slack for a busy machine. A run that takes longer is a hang.
 */
export function timeBound(s: Schedule): number {
	const { options: o } = s;
	const attempt = o.stallTimeout + 100;
	let ms = 10_000;
	for (const { when: w, fault } of s.faults) {
		const times = 'times' in w ? w.times : 1;
		let cost = 0;
		switch (fault.kind) {
			case 'stall':
				cost = fault.ms === null ? attempt : Math.min(fault.ms, attempt);
				break;
			case 'delay':
				cost = Math.min(fault.ms, attempt);
				break;
			case 'trickle':
				cost = fault.ms;
				break;
			case 'status':
				cost = o.maxRetryAfter;
				break;
			default:
				cost = 5;
		}
		ms += 2 * times * (cost + 1);
	}
	const c = s.consumer;
	if (c.pause) ms += c.pause.ms;
	if (c.reading.pace === 'slow') ms += 2 * Math.ceil(s.size / (64 * KiB)) * c.reading.msPer64KiB;
	return ms;
}
