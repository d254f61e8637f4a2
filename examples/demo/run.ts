/**
 * `npm run demo`: the same `.tar.gz` downloaded twice from a local origin whose connections are
 * each capped in speed, as many CDNs and object stores do: once with a plain `fetch()`, once
 * with `ParallelGetStream`. Both are streamed through `DecompressionStream('gzip')` into a tar
 * reader that hashes every file, so the work after the network is the same; only the download
 * differs. No network and no setup beyond `npm ci`.
 *
 * Environment (sizes as the CLI reads them, `8M` = 8 MiB):
 *   DEMO_SIZE         archive size                    default 96M
 *   DEMO_RATE         speed cap of each connection/s  default 8M
 *   DEMO_CONCURRENCY  parallel range requests         default 8
 *   DEMO_CHUNK_SIZE   chunk size                      default 4M
 *
 * 4 MiB rather than the library's 8 MiB default: 96 MiB in 8 MiB chunks is 12 requests, a first
 * wave of 8 and a second of 4 that leaves half the connections idle; in 4 MiB it is three full
 * waves.
 */
import { createHash } from 'node:crypto';
import process from 'node:process';
// In an application: import { ParallelGetStream } from 'parallel-get-stream';
import { ParallelGetStream } from '../../src/index.ts';
import { formatBytes, formatRate } from '../../src/cli/format.ts';
import { Reporter, type Snapshot } from '../../src/cli/reporter.ts';
import { parseSize } from '../../src/cli/size.ts';
import { startOrigin } from '../../test/support/origin.ts';
import { buildArchive } from './archive.ts';
import { type TarEntry, TarLister } from './tar-reader.ts';

function setting(name: string, fallback: string): number {
	const value = process.env[name] ?? fallback;
	try {
		return parseSize(value);
	} catch (error) {
		console.error(`${name}: ${(error as Error).message}`);
		process.exit(2);
	}
}

const size = setting('DEMO_SIZE', '96M');
const rate = setting('DEMO_RATE', '8M');
const concurrency = setting('DEMO_CONCURRENCY', '8');
const chunkSize = setting('DEMO_CHUNK_SIZE', '4M');

interface Result {
	seconds: number;
	bytes: number;
	sha256: string;
	entries: TarEntry[];
}

/**
 * Hashes the compressed bytes as they pass, gunzips them and lists the tar: the download is done
 * when the last file's hash is known. Every stage waits for the next (backpressure).
 */
async function consume(body: ReadableStream<Uint8Array>, counter: { bytes: number }): Promise<Omit<Result, 'seconds'>> {
	const hash = createHash('sha256');
	const tap = new TransformStream<Uint8Array, Uint8Array>({
		transform(chunk, controller) {
			hash.update(chunk);
			counter.bytes += chunk.byteLength;
			controller.enqueue(chunk);
		},
	});
	const lister = new TarLister();
	// The cast: DOM typings declare DecompressionStream's input as BufferSource, a wider type.
	const gunzip = new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>;
	await body.pipeThrough(tap).pipeThrough(gunzip).pipeTo(lister.writable);
	return { bytes: counter.bytes, sha256: hash.digest('hex'), entries: lister.entries };
}

async function timed(label: string, run: (counter: { bytes: number }, progress: (read: () => Snapshot) => void) => Promise<Omit<Result, 'seconds'>>): Promise<Result> {
	console.log(label);
	const reporter = new Reporter({
		mode: process.stderr.isTTY ? 'bar' : 'quiet',
		write: (text) => process.stderr.write(text),
		columns: () => process.stderr.columns || 80,
	});
	const started = performance.now();
	try {
		const result = await run({ bytes: 0 }, (read) => reporter.start(read));
		const elapsed = (performance.now() - started) / 1000;
		reporter.stop();
		console.log(`      ${formatBytes(result.bytes)} in ${seconds(elapsed)} (${formatRate(result.bytes / elapsed)})  sha256 ${result.sha256.slice(0, 16)}…`);
		return { ...result, seconds: elapsed };
	} finally {
		reporter.stop();
	}
}

/** Seconds with one decimal: the two times are compared, so both need the same precision. */
function seconds(value: number): string {
	return `${value.toFixed(1)}s`;
}

function sameFiles(a: TarEntry[], b: TarEntry[]): boolean {
	return a.length === b.length && a.every((entry, index) => JSON.stringify(entry) === JSON.stringify(b[index]));
}

const built = performance.now();
const archive = buildArchive(size);
const buildSeconds = (performance.now() - built) / 1000;
const origin = await startOrigin();
try {
	origin.put('/demo.tar.gz', { body: archive.bytes, contentType: 'application/gzip' });
	origin.shape({ bytesPerSecond: rate });
	const url = origin.url('/demo.tar.gz');
	const total = archive.bytes.byteLength;

	console.log('parallel-get-stream demo: one .tar.gz, downloaded two ways');
	console.log(`  origin   ${url} (local; each connection capped at ${formatRate(rate)})`);
	console.log(`  archive  ${formatBytes(total)} gzip, ${archive.files.length} files, ${formatBytes(archive.unpacked)} unpacked (generated in ${seconds(buildSeconds)})`);
	console.log('');

	const plain = await timed('[1/2] fetch(): one connection', async (counter, progress) => {
		const response = await fetch(url);
		if (!response.ok || !response.body) throw new Error(`fetch: HTTP ${response.status}`);
		progress(() => ({ loaded: counter.bytes, total, inFlight: 1 }));
		return consume(response.body, counter);
	});

	let stats = '';
	const parallel = await timed(`[2/2] ParallelGetStream: ${concurrency} connections, ${formatBytes(chunkSize)} chunks`, async (counter, progress) => {
		const download = new ParallelGetStream(url, { concurrency, chunkSize });
		progress(() => ({ loaded: counter.bytes, total, inFlight: download.stats.inFlight }));
		const result = await consume(download.readable, counter);
		const { requests, maxInFlight, maxBufferedBytes } = download.stats;
		stats = `${requests} range requests, ${maxInFlight} at once, ${formatBytes(maxBufferedBytes)} held in memory at most`;
		return result;
	});
	console.log(`      ${stats}`);
	console.log('');

	console.log("Both were piped through DecompressionStream('gzip') into a streaming tar reader:");
	const shown = archive.files.length > 6 ? [...parallel.entries.slice(0, 3), undefined, ...parallel.entries.slice(-2)] : parallel.entries;
	const width = Math.max(...parallel.entries.map((entry) => entry.name.length));
	for (const entry of shown) {
		if (entry === undefined) console.log(`  … ${parallel.entries.length - 5} more`);
		else console.log(`  ${entry.name.padEnd(width)}  ${formatBytes(entry.size).padStart(10)}  sha256 ${entry.sha256.slice(0, 16)}…`);
	}

	const hashesMatch = plain.sha256 === archive.sha256 && parallel.sha256 === archive.sha256;
	const filesMatch = sameFiles(plain.entries, archive.files) && sameFiles(parallel.entries, archive.files);
	console.log('');
	console.log(`sha256    fetch()           ${plain.sha256}`);
	console.log(`          ParallelGetStream ${parallel.sha256}`);
	console.log(`          origin            ${archive.sha256}`);
	console.log(`hashes:   ${hashesMatch ? 'match' : 'MISMATCH'}; files: ${filesMatch ? `all ${archive.files.length} match what was packed` : 'MISMATCH'}`);
	console.log(`speed-up: ${(plain.seconds / parallel.seconds).toFixed(1)}x (${seconds(plain.seconds)} with fetch(), ${seconds(parallel.seconds)} with ParallelGetStream)`);
	if (!hashesMatch || !filesMatch) process.exitCode = 1;
} finally {
	await origin.close();
}
