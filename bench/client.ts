/**
 * One measured download in a process of its own, so that peak RSS belongs to this run only.
 * Usage: node bench/client.ts '<ClientSpec as JSON>'; prints one `ClientResult` as JSON.
 *
 * Both Node clients read through the same loop (a reader, a SHA-256 of every byte, an optional
 * pace), so the difference between them is the download itself.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROBE_HEADER } from './scenarios.ts';

export interface ClientSpec {
	tool: 'library' | 'fetch';
	url: string;
	/** Library options. */
	concurrency?: number;
	chunkSize?: number;
	/** Bytes per second the consumer reads at most; undefined = as fast as it can. */
	consumerRate?: number;
}


export interface ClientResult {
	bytes: number;
	sha256: string;
	/** From the start of the download to its first byte, and to its last. */
	ttfbMs: number;
	/**
	 * Time to first byte of a second download in the same process, made after the measured one
	 * (code compiled, connections open): what a long-lived process sees.
	 */
	warmTtfbMs: number;
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
			...(spec.concurrency === undefined ? {} : { concurrency: spec.concurrency }),
			...(spec.chunkSize === undefined ? {} : { chunkSize: spec.chunkSize }),
		});
		return { stream: download.readable, stats: () => ({ ...download.stats }) as unknown as Record<string, number> };
	}
	const response = await fetch(spec.url, { headers });
	if (!response.ok || !response.body) throw new Error(`status ${response.status}`);
	return { stream: response.body };
}

async function main(spec: ClientSpec): Promise<ClientResult> {
	const library = spec.tool === 'library' ? await import('../src/index.ts') : undefined;
	// Warm-up: fetch's HTTP stack is loaded lazily; both clients load it before the baseline.
	// HEAD does not count as a response for the origin's straggler sequence.
	const warm = await fetch(spec.url, { method: 'HEAD', headers: { [PROBE_HEADER]: '1' } });
	await warm.arrayBuffer();
	const baselineRssBytes = process.memoryUsage.rss();

	const started = performance.now();
	const cpu = process.cpuUsage();
	const opened = await open(spec, library, {});
	const read = await consume(opened.stream, started, spec.consumerRate);
	const elapsedMs = performance.now() - started;
	const used = process.cpuUsage(cpu);
	const cpuMs = (used.user + used.system) / 1000;
	// maxRSS is in KiB (getrusage); read before the probe, which is not part of the measurement.
	const peakRssBytes = process.resourceUsage().maxRSS * 1024;
	const stats = opened.stats?.();

	// Lets the collection of the first download's garbage happen before, not during, the probe.
	await sleep(100);
	const probeStarted = performance.now();
	const probe = await open(spec, library, { [PROBE_HEADER]: '1' });
	const reader = probe.stream.getReader();
	await reader.read();
	const warmTtfbMs = performance.now() - probeStarted;
	await reader.cancel();

	return { ...read, warmTtfbMs, elapsedMs, cpuMs, baselineRssBytes, peakRssBytes, ...(stats ? { stats } : {}) };
}

const arg = process.argv[2];
if (arg === undefined) {
	console.error("usage: node bench/client.ts '<spec as JSON>'");
	process.exit(2);
}
try {
	const result = await main(JSON.parse(arg) as ClientSpec);
	process.stdout.write(`${JSON.stringify(result)}\n`);
	// Both downloads are over: a timer or socket that still keeps the process alive outlived its
	// stream. Fail the run rather than hang the benchmark.
	setTimeout(() => {
		console.error('the process is still alive 10 s after its downloads ended (a timer or socket outlived its stream)');
		process.exit(3);
	}, 10_000).unref();
} catch (error) {
	console.error(error);
	process.exit(1);
}
