/**
 * Seeded fault schedules (issue 11): downloads against the real test origin, each with what the
 * origin does to its requests, what the consumer does with the stream and the options drawn by
 * fast-check from one seed (test/support/schedules.ts), and the same invariants checked after
 * every run (test/support/invariants.ts):
 *
 * - the output is one revision's bytes exactly; or the stream errors with a ParallelGetError of a
 *   documented code, or the caller's abort reason, and what was read before is a prefix of one
 *   revision; a cancel ends the read with a prefix too;
 * - no programming error (TypeError, RangeError, ERR_INVALID_STATE...), not even as a `cause`;
 *   no unhandled rejection; no zero-length chunk;
 * - once the read ended (done, error, cancel, abort): no request of the download open at the
 *   origin and none counted in flight by the client, within a bounded wait, and no timer of the
 *   library pending (test/support/timers.ts tells its timers from the origin's and fetch's);
 * - `stats` within the documented bounds: in flight, bytes held, requests per download, steals;
 * - a download without any fault completes;
 * - each run ends within a bound derived from what was drawn (timeBound): no hang.
 *
 * `npm test` runs a few hundred schedules from a fresh seed; `npm run fuzz` (FUZZ_SOAK=1) runs
 * FUZZ_RUNS of them (default 2000) without stopping at a failure, and lists every failing one.
 * Each failure prints one line that replays it: `SEED=... PATH_=... npm run fuzz` (replaying
 * shrinks it further). The schedule is replayed exactly; the order in which concurrent requests
 * reach the origin is the machine's, which is why faults are keyed by chunk.
 */
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as native from '../src/index.ts';
import * as ponyfill from '../src/ponyfill.ts';
import { readDrawn } from './browser/pages/read-drawn.js';
import { readSome } from './support/collect.ts';
import { causeChain, checkOutcome, checkOutput, checkStats, describeError, type Outcome } from './support/invariants.ts';
import { base64, digestOf } from './support/digests.ts';
import { prefixHash } from '../src/integrity/prefix-hash.ts';
import { type InstalledSchedule, installSchedule, UNSCHEDULED } from './support/fault-rules.ts';
import { objectSlice } from './support/object.ts';
import { type Origin, type RequestRecord, startOrigin } from './support/origin.ts';
import { type Schedule, schedule as schedules, timeBound } from './support/schedules.ts';
import { type TimerTracker, trackTimers } from './support/timers.ts';
import { sleep, waitFor } from './support/wait.ts';

const soak = process.env.FUZZ_SOAK === '1';
const replayPath = process.env.PATH_ || undefined;
const runs = Number(process.env.FUZZ_RUNS ?? (soak ? 2000 : 250));
const seed = process.env.SEED ? Number(process.env.SEED) : Math.floor(Math.random() * 0x7fff_ffff);
/** npm test stops drawing new schedules after this long (a failure found by then is still shrunk and reported). */
const TEST_TIME_LIMIT_MS = 75_000;
/**
 * How long after the read ended the download may take to close its requests at the origin and
 * clear its timers. It aborts them at once, and the origin, in this process, sees the close a
 * turn or two later. Less than the smallest `stallTimeout` drawn, so that neither a stall
 * watchdog left armed nor a request left for the watchdog to end can hide in the wait.
 */
const SETTLE_MS = 300;
/** After a hang, how long the origin may take to see its requests closed. */
const IDLE_WAIT_MS = 3000;

const KiB = 1024;
const LIBRARY_ROOTS = [fileURLToPath(new URL('../src/', import.meta.url)), '/node_modules/ky/'];

let origin: Origin;
let timers: TimerTracker;
const rejections: unknown[] = [];
const onRejection = (reason: unknown): void => {
	rejections.push(reason);
};

beforeAll(async () => {
	origin = await startOrigin();
	timers = trackTimers(LIBRARY_ROOTS);
	process.on('unhandledRejection', onRejection);
});
afterAll(async () => {
	process.off('unhandledRejection', onRejection);
	timers.restore();
	await origin.close();
});


let runId = 0;
/** What the runs did, to show what the schedules reach: outcomes, error codes, modes, features. */
const tally = new Map<string, number>();
function note(key: string): void {
	tally.set(key, (tally.get(key) ?? 0) + 1);
}
function tallyLine(): string {
	return [...tally.entries()]
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([key, n]) => `${key} ${n}`)
		.join(', ');
}

/** One download as the schedule says; the invariants it broke (none: it passed). */
async function runOne(s: Schedule): Promise<string[]> {
	const id = ++runId;
	const path = `/fuzz/${id}.bin`;
	const failures: string[] = [];
	origin.resetStats();
	timers.forget();
	rejections.length = 0;

	// The object, its fault rule, and every revision's bytes to compare the output with.
	const installed = installSchedule(origin, path, s, { paused: s.resume !== null });
	const { chunkSize } = s;
	const o = s.options;

	// A resume: a first run without faults reads part of the object, and the scheduled run goes
	// on from its checkpoint; its output is then the first revision's tail, or a prefix of it.
	let resume: native.Checkpoint | undefined;
	if (s.resume) {
		const first = await firstRun(s, path, installed);
		if (typeof first === 'string') failures.push(first);
		else resume = first;
		await origin.whenIdle(IDLE_WAIT_MS).catch(() => failures.push('the first run left requests open'));
		installed.start();
		if (failures.length > 0) {
			installed.remove();
			return failures;
		}
	}
	const base = resume?.offset ?? 0;
	const whole = installed.revisions[0] as Uint8Array;
	const revisions = resume ? [whole.subarray(base)] : installed.revisions;
	const corrupted = resume ? installed.corrupted.slice(0, 1).map((bytes) => bytes.subarray(base)) : installed.corrupted;
	/** The scheduled run's requests at the origin (not a late one of the first run). */
	const scheduled = (): RequestRecord[] => origin.requestsTo(path).filter((record) => record.headers[UNSCHEDULED] === undefined);

	const controller = new AbortController();
	const abortReason = new Error(`the caller's abort (run ${id})`);
	const cancelReason = new Error(`the consumer's cancel (run ${id})`);
	const Stream = o.stream === 'native' ? native.ParallelGetStream : ponyfill.ParallelGetStream;
	const progress: native.Progress[] = [];
	const download = new Stream(origin.url(path), {
		chunkSize,
		concurrency: o.auto ? { min: 1, max: o.concurrency } : o.concurrency,
		...(o.maxBufferChunks === null ? {} : { maxBuffer: o.maxBufferChunks * chunkSize }),
		hedge: o.hedge === false ? false : { after: o.hedge.after, ...(o.hedge.max === null ? {} : { max: o.hedge.max }) },
		overlap: o.overlap,
		stallTimeout: o.stallTimeout,
		retry: { limit: o.retryLimit, delay: () => 1, jitter: false, maxRetryAfter: o.maxRetryAfter },
		signal: controller.signal,
		// A `size` other than the checkpoint's is refused at construction: not given with a resume.
		...(o.givenSize === 'none' || (resume && o.givenSize === 'wrong') ? {} : { size: o.givenSize === 'right' ? s.size : s.size + 1 }),
		...(o.progress ? { onProgress: (report: native.Progress) => void progress.push(report) } : {}),
		// Of the whole object, resumed or not: a resumed download verifies every byte (its checkpoint's hash).
		...(s.integrity?.by === 'option' ? { integrity: `${s.integrity.algorithm}-${base64(digestOf(s.integrity.algorithm, whole))}` } : {}),
		...(resume ? { resume } : {}),
	});
	let readable = download.readable;
	let other: ReadableStream<Uint8Array> | undefined;
	if (s.consumer.tee) [readable, other] = readable.tee();
	const reader = readable.getReader();
	const pieces: Uint8Array[] = [];
	let read = 0;
	const { ending } = s.consumer;
	const abortTimer = ending.kind === 'abort' ? setTimeout(() => controller.abort(abortReason), ending.ms) : undefined;

	const consume = (): Promise<Outcome> =>
		readDrawn({
			reader,
			other,
			consumer: s.consumer,
			size: s.size,
			cancelReason,
			onPiece: (value) => {
				if (value.byteLength === 0) failures.push('a zero-length chunk was enqueued');
				pieces.push(value);
				read += value.byteLength;
			},
		});

	const openAtOrigin = (): string[] =>
		origin
			.requestsTo(path)
			.filter((record) => record.endedAt === undefined)
			.map((record) => `#${record.count} ${record.range ?? 'no range'}${record.fault ? ` ${JSON.stringify(record.fault)}` : ''}`);

	const bound = timeBound(s);
	let hangTimer: ReturnType<typeof setTimeout> | undefined;
	const hang = new Promise<'hang'>((resolve) => {
		hangTimer = setTimeout(() => resolve('hang'), bound);
	});
	const result = await Promise.race([consume(), hang]);
	clearTimeout(hangTimer);
	clearTimeout(abortTimer);
	if (result === 'hang') {
		failures.push(`no end after ${bound} ms (${read} bytes read): stats ${JSON.stringify(download.stats)}; open at the origin: ${openAtOrigin().join('; ') || 'none'}`);
		controller.abort(new Error('hang'));
		reader.cancel().catch(() => {});
		other?.cancel().catch(() => {});
		await waitFor(() => openAtOrigin().length === 0, IDLE_WAIT_MS);
		installed.remove();
		return failures;
	}
	const outcome = result;
	if (other) await other.cancel(cancelReason).catch(() => {});

	let emitted = new Uint8Array(read);
	let at = 0;
	for (const piece of pieces) {
		emitted.set(piece, at);
		at += piece.byteLength;
	}
	const push = (failure: string | undefined): void => {
		if (failure !== undefined) failures.push(failure);
	};
	push(checkOutput(outcome, emitted, revisions, corrupted));
	// The caller's digest is of the first revision: only those bytes may complete.
	if (outcome.kind === 'done' && s.integrity?.by === 'option') {
		const first = revisions[0] as Uint8Array;
		if (emitted.byteLength !== first.byteLength || emitted.some((byte, i) => byte !== first[i])) failures.push('done with bytes other than the ones `integrity` names');
	}
	emitted = new Uint8Array(0);
	push(checkOutcome(outcome, s, abortReason));

	// Nothing left behind once the read ended.
	await waitFor(() => openAtOrigin().length === 0 && download.stats.inFlight === 0 && timers.pending().length === 0, SETTLE_MS);
	if (openAtOrigin().length > 0) failures.push(`requests still open at the origin ${SETTLE_MS} ms after the end: ${openAtOrigin().join('; ')}`);
	if (download.stats.inFlight !== 0) failures.push(`stats.inFlight is ${download.stats.inFlight} ${SETTLE_MS} ms after the end`);
	if (timers.pending().length > 0) {
		failures.push(`library timers left ${SETTLE_MS} ms after the end: ${timers.pending().map((timer) => `${timer.ms} ms at ${timer.where}`).join('; ')}`);
	}
	// A rejection nobody handled surfaces a turn or two after it happened.
	await sleep(1);
	for (const reason of rejections) failures.push(`unhandled rejection: ${describeError(reason)}`);

	const info = await download.info.catch(() => undefined);
	const stats = download.stats;
	note(outcome.kind === 'error' ? (outcome.error === abortReason ? 'aborted' : `error ${String((outcome.error as { code?: unknown }).code)}`) : outcome.kind);
	if (info) note(`mode ${info.mode}`);
	if (resume) note(base === s.size ? 'resumed at the end' : 'resumed');
	if (resume && s.integrity) note(resume.hash ? 'resumed with a hash' : 'resumed without a hash');
	for (const key of ['retries', 'hedges', 'hedgesWon', 'steals', 'overlaps'] as const) if (stats[key] > 0) note(`with ${key}`);
	const believed = Math.max(info?.size ?? 0, ...revisions.map((bytes) => bytes.byteLength));
	failures.push(...checkStats(stats, s, believed));
	// Every request the origin saw was counted (one aborted before it was sent may not reach it).
	const seen = scheduled().length;
	if (seen > stats.requests) failures.push(`the origin saw ${seen} requests, stats.requests is ${stats.requests}`);
	if (outcome.kind === 'done') {
		if (!info) failures.push('done, but `info` rejected');
		else if (info.size !== undefined && info.size !== base + read) failures.push(`done after ${read} bytes from ${base}, but info.size is ${info.size}`);
		else if (resume && info.resumedFrom !== base) failures.push(`resumed from ${base}, but info.resumedFrom is ${info.resumedFrom}`);
		// `loaded` goes on from the checkpoint.
		if (stats.loaded !== base + read) failures.push(`done after ${read} bytes from ${base}, but stats.loaded is ${stats.loaded}`);
		// A `size` the responses contradict fails the download; it never completes another length.
		const given = o.givenSize === 'none' || (resume && o.givenSize === 'wrong') ? undefined : o.givenSize === 'right' ? s.size : s.size + 1;
		if (given !== undefined && base + read !== given) failures.push(`done after ${read} bytes from ${base}, but \`size\` was given as ${given}`);
		// A checkpoint at the end: an empty stream, and no request.
		if (resume && base === s.size && stats.requests !== 0) failures.push(`resumed at the end (${base}), but ${stats.requests} requests were made`);
		if (resume) {
			const checkpoint = download.checkpoint();
			if (checkpoint?.offset !== s.size || checkpoint.etag !== resume.etag) failures.push(`done, but checkpoint() is ${JSON.stringify(checkpoint)} after resuming ${JSON.stringify(resume)}`);
			// A resumed download verifying a digest says so only from the hash its checkpoint carried.
			if (info?.digest && !resume.hash) failures.push(`resumed without a hash, but info.digest claims ${JSON.stringify(info.digest)}`);
			if (s.integrity && resume.hash && info?.digest?.algorithm !== verifiedAlgorithm(s.integrity)) failures.push(`resumed with a ${resume.hash.algorithm} hash, but info.digest is ${JSON.stringify(info?.digest)}`);
		}
	}
	for (let i = 0; i < progress.length; i++) {
		const report = progress[i] as native.Progress;
		const previous = i > 0 ? (progress[i - 1] as native.Progress).loaded : base;
		if (report.loaded <= previous || report.loaded > believed) failures.push(`progress ${i}: loaded ${report.loaded} after ${previous} (size ${believed})`);
		if (info && report.total !== info.size) failures.push(`progress ${i}: total ${report.total}, info.size ${info.size}`);
		if (failures.length > 0) break;
	}
	if (outcome.kind === 'done' && progress.length > 0 && progress.at(-1)?.loaded !== base + read) failures.push(`the last progress report says ${progress.at(-1)?.loaded}, ${read} bytes were read`);

	// Without a fault there is nothing to excuse a failure, unless the machine was so busy that a
	// response went quiet for stallTimeout. A corrupted byte is not such a fault: it must fail the
	// download with ERR_INTEGRITY, and nothing else.
	const struck =
		installed.changed ||
		o.givenSize === 'wrong' ||
		origin.requestsTo(path).some((record) => record.fault !== undefined && Object.keys(record.fault).some((key) => key !== 'corruptByteAt'));
	const stalled = outcome.kind === 'error' && causeChain(outcome.error).some((e) => e instanceof native.StallError);
	const code = outcome.kind === 'error' ? (outcome.error as { code?: unknown }).code : undefined;
	const corrupt = installed.corruptByteAt !== undefined;
	if (!struck && ending.kind === 'read' && !stalled) {
		if (corrupt && code !== 'ERR_INTEGRITY') failures.push(`a download with one corrupted byte and no other fault ended ${outcome.kind === 'error' ? describeError(outcome.error) : outcome.kind}, not ERR_INTEGRITY`);
		if (!corrupt && outcome.kind === 'error') failures.push(`a download without faults failed: ${describeError(outcome.error)}`);
	}
	if (code === 'ERR_INTEGRITY') {
		if (!s.integrity) failures.push('ERR_INTEGRITY without a digest drawn');
		// The piece that ends the object is held back until the digest matches.
		if (info?.size !== undefined && base + read >= info.size) failures.push(`ERR_INTEGRITY after all ${read} bytes from ${base} were handed out`);
	}
	if (s.integrity) note(`integrity ${s.integrity.by}${corrupt ? ' corrupted' : ''}`);

	if (failures.length > 0) {
		const requests = origin.requestsTo(path).map((record) => `#${record.count} ${record.range ?? '-'} ${record.status}${record.fault ? ` ${JSON.stringify(record.fault)}` : ''}${record.aborted ? ' aborted' : ''}`);
		failures.push(`outcome: ${outcome.kind === 'error' ? describeError(outcome.error) : outcome.kind}; ${read} bytes read${resume ? ` after resuming ${JSON.stringify(resume)}` : ''}; stats ${JSON.stringify(download.stats)}`);
		failures.push(`requests: ${requests.join(' | ')}`);
	}
	installed.remove();
	return failures;
}

/**
 * The first run of a resume, without faults: reads `fraction` of the object (all of it at 1),
 * checks what it read against the object, and returns its checkpoint, or what went wrong. An
 * empty object has no checkpoint (nothing to pin), and is then read again from the start.
 */
async function firstRun(s: Schedule, path: string, installed: InstalledSchedule): Promise<native.Checkpoint | undefined | string> {
	const o = s.options;
	const whole = installed.revisions[0] as Uint8Array;
	const draw = s.integrity;
	const algorithm = draw && verifiedAlgorithm(draw);
	const download = new native.ParallelGetStream(origin.url(path), {
		chunkSize: s.chunkSize,
		concurrency: o.concurrency,
		overlap: o.overlap,
		hedge: false,
		retry: { limit: 3, delay: () => 1, jitter: false },
		headers: { [UNSCHEDULED]: 'first run' },
		// Verifying the same digest as the scheduled run, so that its checkpoint carries the hash.
		...(draw?.by === 'option' ? { integrity: `${draw.algorithm}-${base64(digestOf(draw.algorithm, whole))}` } : {}),
	});
	const target = Math.floor((s.resume as { fraction: number }).fraction * s.size);
	let head: Uint8Array;
	try {
		await download.info;
		head = await readSome(download.readable, target);
	} catch (error) {
		// The corrupted byte, read to the end: nothing to continue (no checkpoint), start over.
		if (installed.corruptByteAt !== undefined && (error as { code?: unknown }).code === 'ERR_INTEGRITY') {
			return download.checkpoint() === undefined ? undefined : 'the first run failed ERR_INTEGRITY, but checkpoint() still gives one';
		}
		return `the first run of a resume failed without faults: ${describeError(error)}`;
	}
	const checkpoint = download.checkpoint();
	const object = installed.corrupted[0] ?? objectSlice(s.size, s.seed, 0, s.size);
	const read = head.byteLength;
	if (!head.every((byte, i) => byte === object[i])) return 'the first run of a resume read bytes that are not the object\'s';
	if (s.size === 0) return checkpoint === undefined ? undefined : `an empty object gave a checkpoint: ${JSON.stringify(checkpoint)}`;
	if (checkpoint?.offset !== read || checkpoint.size !== s.size || checkpoint.etag !== origin.get(path)?.etag) {
		return `after ${read} bytes of ${s.size}, checkpoint() is ${JSON.stringify(checkpoint)}`;
	}
	if (checkpoint.hash && (checkpoint.hash.length !== read || checkpoint.hash.algorithm !== algorithm)) return `after ${read} bytes, checkpoint().hash is ${JSON.stringify(checkpoint.hash)}`;
	// Through JSON, as a caller keeps it.
	const kept = JSON.parse(JSON.stringify(checkpoint)) as native.Checkpoint;
	// Where the first run hashed natively (SHA-2 and MD5 in Node), its checkpoint has no hash:
	// made from the bytes read, as the CLI's --continue does from FILE.part. A server's digest
	// without one is left unverified (and must not be claimed), unless a corrupted byte is drawn.
	if (draw && algorithm && !kept.hash && (draw.by === 'option' || installed.corruptByteAt !== undefined)) {
		const source = draw.by === 'option' ? 'integrity' : draw.by;
		kept.hash = await prefixHash({ algorithm, values: [digestOf(algorithm, whole)], encoding: 'base64', source }, [head]);
	}
	return kept;
}

/** The algorithm verified: the caller's, or the strongest the origin's header declares (see test/support/digests.ts). */
function verifiedAlgorithm(draw: NonNullable<Schedule['integrity']>): 'sha256' | 'sha512' | 'md5' | 'crc32c' | 'crc64nvme' {
	if (draw.by === 'option') return draw.algorithm;
	return draw.by === 'repr-digest' ? 'sha512' : 'md5';
}

function replayLine(runSeed: number, path: string): string {
	return `SEED=${runSeed} PATH_=${path} npm run fuzz`;
}

describe('fault schedules', () => {
	if (soak && replayPath === undefined) {
		it(`soak: ${runs} schedules from seed ${seed}`, async () => {
			let index = 0;
			const failed: { path: string; failures: string[]; schedule: Schedule }[] = [];
			const started = performance.now();
			// Never fails inside fast-check, so that the run goes on after a failure; run i of a
			// seed replays with path "i".
			const property = fc.asyncProperty(schedules, async (s) => {
				const path = String(index++);
				const failures = await runOne(s);
				if (failures.length > 0) {
					failed.push({ path, failures, schedule: s });
					console.log(`FAILED ${replayLine(seed, path)}\n  ${failures.join('\n  ')}\n  schedule: ${JSON.stringify(s)}`);
				}
				if (index % 250 === 0) console.log(`${index} schedules, ${failed.length} failed, ${((performance.now() - started) / 1000).toFixed(0)} s`);
			});
			await fc.assert(property, { seed, numRuns: runs });
			const seconds = ((performance.now() - started) / 1000).toFixed(1);
			console.log(
				`soak: ${index} schedules ran from seed ${seed} in ${seconds} s, ${failed.length} failed${failed.map((f) => `\n  ${replayLine(seed, f.path)}`).join('')}\nruns: ${tallyLine()}`,
			);
			expect(failed.map((f) => replayLine(seed, f.path))).toEqual([]);
		}, runs * 5000);
		return;
	}

	it(replayPath === undefined ? `${runs} schedules from seed ${seed}` : `replays ${replayLine(seed, replayPath)}`, async () => {
		const started = performance.now();
		let ran = 0;
		const property = fc.asyncProperty(schedules, async (s) => {
			ran++;
			const failures = await runOne(s);
			if (failures.length > 0) throw new Error(failures.join('\n'));
		});
		const details = await fc.check(property, {
			seed,
			numRuns: replayPath === undefined ? runs : 1,
			...(replayPath === undefined ? {} : { path: replayPath }),
			interruptAfterTimeLimit: replayPath === undefined ? TEST_TIME_LIMIT_MS : undefined,
			markInterruptAsFailure: false,
		});
		const seconds = ((performance.now() - started) / 1000).toFixed(1);
		// The timer check sees the library's timers at all (every download arms a stall watchdog).
		expect(timers.created()).toBeGreaterThan(0);
		if (details.failed) {
			const schedule = JSON.stringify(details.counterexample?.[0]);
			const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
			throw new Error(`${replayLine(details.seed, details.counterexamplePath ?? '')}\n${error}\nschedule: ${schedule}\n(${ran} runs in ${seconds} s, shrunk ${details.numShrinks} times)`);
		}
		console.log(`fault schedules: ${details.numRuns} passed from seed ${seed} in ${seconds} s${details.interrupted ? ` (stopped at the ${TEST_TIME_LIMIT_MS / 1000} s limit)` : ''}\nruns: ${tallyLine()}`);
	}, soak ? 3_600_000 : 240_000);
});
