/**
 * One measured download in a process of its own, so that peak RSS belongs to this run only.
 * Usage: node bench/client.ts '<ClientSpec as JSON>'; prints one `ClientResult` as JSON (ipull:
 * writes it to `resultFile`, since ipull writes control sequences to stdout whatever its options).
 *
 * The library and one fetch() read through the same loop (a reader, a SHA-256 of every byte, an
 * optional pace), so the difference between them is the download itself. `split` is a reference,
 * not a peer: see `splitDownload`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROBE_HEADER } from './scenarios.ts';

export interface ClientSpec {
	tool: 'library' | 'fetch' | 'split' | 'ipull';
	url: string;
	/** Library options; `concurrency` is also the number of parts of `split` and ipull's parallel streams. */
	concurrency?: number;
	/** Library: `concurrency: 'auto'` (within the given `concurrency` as `max`, when given), and `maxBuffer`. */
	auto?: boolean;
	maxBuffer?: number;
	chunkSize?: number;
	/** The library's `integrity` option. */
	integrity?: string;
	/** Bytes per second the consumer reads at most; undefined = as fast as it can. */
	consumerRate?: number;
	/** ipull: the directory it downloads into, and the file the result goes to. */
	dir?: string;
	resultFile?: string;
}


export interface ClientResult {
	bytes: number;
	sha256: string;
	/** From the start of the download to its first byte (not for ipull: it hands out no bytes), and to its last. */
	ttfbMs?: number;
	/**
	 * Time to first byte of a second download in the same process, made after the measured one
	 * (code compiled, connections open): what a long-lived process sees. Not for `split`.
	 */
	warmTtfbMs?: number;
	elapsedMs: number;
	/** CPU time (user + system, all threads of the process) the measured download took. */
	cpuMs: number;
	/** RSS once idle (modules loaded, one request made), and the peak of the whole process. */
	baselineRssBytes: number;
	peakRssBytes: number;
	/** The library's own counters (`download.stats` at the end), for the library. */
	stats?: Record<string, number>;
}

async function consume(
	stream: ReadableStream<Uint8Array>,
	started: number,
	consumerRate: number | undefined,
): Promise<{ bytes: number; sha256: string; ttfbMs: number }> {
	const hash = createHash('sha256');
	const reader = stream.getReader();
	let bytes = 0;
	let firstAt: number | undefined;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		if (firstAt === undefined) firstAt = performance.now();
		hash.update(value);
		bytes += value.byteLength;
		if (consumerRate !== undefined) {
			// A consumer slower than the network: never ahead of `consumerRate` since its first byte.
			const due = firstAt + (bytes / consumerRate) * 1000;
			const ahead = due - performance.now();
			if (ahead >= 1) await sleep(ahead);
		}
	}
	return { bytes, sha256: hash.digest('hex'), ttfbMs: (firstAt ?? performance.now()) - started };
}

type Library = typeof import('../src/index.ts');

interface Opened {
	stream: ReadableStream<Uint8Array>;
	stats?: () => Record<string, number>;
}

async function open(spec: ClientSpec, library: Library | undefined, headers: Record<string, string>): Promise<Opened> {
	if (library) {
		const download = new library.ParallelGetStream(spec.url, {
			headers,
			...(spec.auto ? { concurrency: spec.concurrency === undefined ? 'auto' : { max: spec.concurrency } } : spec.concurrency === undefined ? {} : { concurrency: spec.concurrency }),
			...(spec.chunkSize === undefined ? {} : { chunkSize: spec.chunkSize }),
			...(spec.integrity === undefined ? {} : { integrity: spec.integrity }),
			...(spec.maxBuffer === undefined ? {} : { maxBuffer: spec.maxBuffer }),
		});
		return { stream: download.readable, stats: () => ({ ...download.stats }) as unknown as Record<string, number> };
	}
	const response = await fetch(spec.url, { headers });
	if (!response.ok || !response.body) throw new Error(`status ${response.status}`);
	return { stream: response.body };
}

/**
 * The reference for what `concurrency` connections can carry at all: the size known beforehand
 * (no discovery), one range request per equal part, all sent at once, nothing checked, each read
 * at its offset into one buffer the size of the object (no window). The clock stops with the last
 * byte; the SHA-256 of the buffer is taken after that.
 */
async function splitDownload(url: string, size: number, parts: number, started: number): Promise<{ object: Uint8Array; bytes: number; ttfbMs: number }> {
	const object = new Uint8Array(size);
	const part = Math.ceil(size / parts);
	let bytes = 0;
	let firstAt: number | undefined;
	await Promise.all(
		Array.from({ length: Math.min(parts, Math.ceil(size / part)) }, async (_, index) => {
			const start = index * part;
			const end = Math.min(size, start + part) - 1;
			const response = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
			if (response.status !== 206 || !response.body) throw new Error(`status ${response.status} for bytes=${start}-${end}`);
			let offset = start;
			for await (const piece of response.body) {
				firstAt ??= performance.now();
				object.set(piece, offset);
				offset += piece.byteLength;
			}
			if (offset !== end + 1) throw new Error(`bytes=${start}-${end}: the body ended at ${offset}`);
			bytes += offset - start;
		}),
	);
	return { object, bytes, ttfbMs: (firstAt ?? performance.now()) - started };
}

/** The SHA-256 of a file, read after the clock stopped. */
async function sha256File(path: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(piece as Buffer);
	return hash.digest('hex');
}

/**
 * ipull as a user of its API runs it: `downloadFile` into a file, `parallelStreams` = the
 * scenario's concurrency, its progress off, every other setting its default (see README).
 */
async function ipullDownload(ipull: typeof import('ipull'), spec: ClientSpec): Promise<void> {
	const downloader = await ipull.downloadFile({
		url: spec.url,
		directory: spec.dir ?? '.',
		fileName: 'object.bin',
		parallelStreams: spec.concurrency ?? 8,
		cliProgress: false,
	});
	await downloader.download();
}

/** Runs the measured download and takes what every client reports of it: wall time, CPU time, peak RSS. */
async function measure<T>(download: (started: number) => Promise<T>): Promise<{ result: T; elapsedMs: number; cpuMs: number; peakRssBytes: number }> {
	const started = performance.now();
	const cpu = process.cpuUsage();
	const result = await download(started);
	const elapsedMs = performance.now() - started;
	const used = process.cpuUsage(cpu);
	// maxRSS is in KiB (getrusage); read before anything that is not part of the measurement.
	const peakRssBytes = process.resourceUsage().maxRSS * 1024;
	return { result, elapsedMs, cpuMs: (used.user + used.system) / 1000, peakRssBytes };
}

async function main(spec: ClientSpec): Promise<ClientResult> {
	const library = spec.tool === 'library' ? await import('../src/index.ts') : undefined;
	const ipull = spec.tool === 'ipull' ? await import('ipull') : undefined;
	// Warm-up: fetch's HTTP stack is loaded lazily; every client loads it before the baseline.
	// HEAD does not count as a response for the origin's straggler sequence.
	const warm = await fetch(spec.url, { method: 'HEAD', headers: { [PROBE_HEADER]: '1' } });
	await warm.arrayBuffer();
	const baselineRssBytes = process.memoryUsage.rss();
	if (ipull) {
		const { result: _, ...measured } = await measure(() => ipullDownload(ipull, spec));
		const file = join(spec.dir ?? '.', 'object.bin');
		return { bytes: (await stat(file)).size, sha256: await sha256File(file), ...measured, baselineRssBytes };
	}
	if (spec.tool === 'split') {
		const size = Number(warm.headers.get('content-length'));
		const { result, ...measured } = await measure((started) => splitDownload(spec.url, size, spec.concurrency ?? 8, started));
		const sha256 = createHash('sha256').update(result.object).digest('hex');
		return { bytes: result.bytes, sha256, ttfbMs: result.ttfbMs, ...measured, baselineRssBytes };
	}

	const { result, ...measured } = await measure(async (started) => {
		const opened = await open(spec, library, {});
		return { read: await consume(opened.stream, started, spec.consumerRate), stats: opened.stats?.() };
	});
	const { read, stats } = result;

	// Lets the collection of the first download's garbage happen before, not during, the probe.
	await sleep(100);
	const probeStarted = performance.now();
	const probe = await open(spec, library, { [PROBE_HEADER]: '1' });
	const reader = probe.stream.getReader();
	await reader.read();
	const warmTtfbMs = performance.now() - probeStarted;
	await reader.cancel();

	return { ...read, warmTtfbMs, ...measured, baselineRssBytes, ...(stats ? { stats } : {}) };
}

const arg = process.argv[2];
if (arg === undefined) {
	console.error("usage: node bench/client.ts '<spec as JSON>'");
	process.exit(2);
}
try {
	const spec = JSON.parse(arg) as ClientSpec;
	const result = await main(spec);
	if (spec.resultFile === undefined) process.stdout.write(`${JSON.stringify(result)}\n`);
	else await writeFile(spec.resultFile, JSON.stringify(result));
	// Both downloads are over: a timer or socket that still keeps the process alive outlived its
	// stream. Fail the run rather than hang the benchmark.
	setTimeout(() => {
		console.error('the process is still alive 10 s after its downloads ended (a timer or socket outlived its stream)');
		process.exit(3);
	}, 10_000).unref();
} catch (error) {
	console.error(error);
	// The last line is the reason the harness reports: the error, and what caused it.
	const cause = error instanceof Error && error.cause instanceof Error ? ` (cause: ${error.cause.name}: ${error.cause.message})` : '';
	console.error(`failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}${cause}`);
	process.exit(1);
}
