/**
 * The hash's own throughput, per runtime: each algorithm the library verifies, fed 64 KiB pieces
 * (as a network delivers them) of a 256 MiB buffer, through hash-wasm (what every runtime can
 * use, browsers included) and through the runtime's `node:crypto` `createHash` where it has the
 * algorithm. MB/s are 10^6 bytes/s, the median of 5 runs.
 *
 *   node bench/hash-throughput.ts          deno run -A bench/hash-throughput.ts
 *   bun bench/hash-throughput.ts
 */
import { createHash } from 'node:crypto';
import { createHasher } from '../src/integrity/hashers.ts';
import type { Algorithm } from '../src/integrity/digest.ts';

const SIZE = 256 * 1024 * 1024;
const PIECE = 64 * 1024;
const RUNS = 5;
const algorithms: Algorithm[] = ['sha256', 'sha512', 'md5', 'crc32c', 'crc64nvme'];

const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i += 4) data[i] = (i * 2654435761) >>> 24;

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)] as number;
}

async function time(make: () => Promise<{ update(bytes: Uint8Array): unknown; digest(): unknown }>): Promise<number> {
	const rates: number[] = [];
	for (let run = 0; run < RUNS; run++) {
		const hasher = await make();
		const started = performance.now();
		for (let at = 0; at < SIZE; at += PIECE) hasher.update(data.subarray(at, at + PIECE));
		hasher.digest();
		rates.push(SIZE / 1e6 / ((performance.now() - started) / 1000));
	}
	return median(rates);
}

const runtime = (globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } });
const name = runtime.Deno ? `Deno ${runtime.Deno.version.deno}` : runtime.Bun ? `Bun ${runtime.Bun.version}` : `Node ${process.version}`;
const rows: string[] = [];
for (const algorithm of algorithms) {
	const wasm = await time(() => createHasher(algorithm, { native: false }));
	let native: number | undefined;
	try {
		createHash(algorithm);
		native = await time(async () => createHash(algorithm));
	} catch {
		native = undefined;
	}
	rows.push(`| ${name} | ${algorithm} | ${wasm.toFixed(0)} | ${native === undefined ? '–' : native.toFixed(0)} |`);
}
console.log(rows.join('\n'));
