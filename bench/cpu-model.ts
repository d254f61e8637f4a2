/**
 * `node bench/cpu-model.ts [--runs N] [--size 512MiB]`: what parallel range requests cost in
 * client CPU with no library at all (a model), against one `fetch()` of the same bytes on loopback. A
 * model of the library's loop: `concurrency` fetches of 8 MiB ranges, each
 * response's pieces held until the in-order reader reaches them, a window of 2 x `concurrency`
 * chunks. Four readers, in turn, each in a fresh process: one `fetch()` read to the end; the
 * model with the default reader; the model with a BYOB reader filling 1 MiB blocks (the lead of
 * issue 13: fewer, larger objects held); and the library itself, with the same settings. Prints each run's CPU (user + system) and GC time, and
 * the medians' ratios to one `fetch()`.
 */
import { execFileSync, fork } from 'node:child_process';
import { createServer } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseSize } from '../src/cli/size.ts';

const MiB = 1024 * 1024;
const CHUNK = 8 * MiB;
const PIECE = MiB;
type Mode = 'single' | 'default' | 'byob' | 'library';

function serve(size: number): void {
	const data = Buffer.alloc(16 * MiB, 7);
	createServer((request, response) => {
		const range = /bytes=(\d+)-(\d+)/.exec(request.headers.range ?? '');
		const start = range ? Number(range[1]) : 0;
		const end = range ? Number(range[2]) : size - 1;
		response.writeHead(range ? 206 : 200, { etag: '"model"', 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
		let at = start;
		const write = (): void => {
			while (at <= end) {
				const n = Math.min(end + 1 - at, 64 * 1024);
				at += n;
				if (!response.write(data.subarray(0, n))) return void response.once('drain', write);
			}
			response.end();
		};
		write();
	}).listen(0, '127.0.0.1', function (this: import('node:net').Server) {
		process.send?.((this.address() as import('node:net').AddressInfo).port);
	});
}

async function readRange(url: string, index: number, mode: Mode, pieces: Uint8Array[], wake: () => void): Promise<void> {
	const response = await fetch(url, { headers: { range: `bytes=${index * CHUNK}-${(index + 1) * CHUNK - 1}` } });
	if (!response.body) throw new Error('no body');
	if (mode === 'byob') {
		const reader = response.body.getReader({ mode: 'byob' });
		for (let left = CHUNK; left > 0; ) {
			let block = new Uint8Array(Math.min(PIECE, left));
			for (let filled = 0; filled < block.byteLength; ) {
				const { done, value } = await reader.read(new Uint8Array(block.buffer, filled));
				if (done || !value) throw new Error('short body');
				block = new Uint8Array(value.buffer);
				filled += value.byteLength;
			}
			pieces.push(block);
			left -= block.byteLength;
			wake();
		}
		return;
	}
	for await (const piece of response.body) {
		pieces.push(piece);
		wake();
	}
}

/** One client run in this process: returns its CPU and GC time. */
async function client(port: number, mode: Mode, size: number, concurrency: number): Promise<{ cpuMs: number; gcMs: number }> {
	let gcMs = 0;
	new PerformanceObserver((list) => {
		for (const entry of list.getEntries()) gcMs += entry.duration;
	}).observe({ entryTypes: ['gc'] });
	const url = `http://127.0.0.1:${port}/object`;
	// Loaded before the clock starts, as a warm process has it.
	const { ParallelGetStream } = await import('../src/index.ts');
	const cpu = process.cpuUsage();
	let total = 0;
	if (mode === 'library') {
		const download = new ParallelGetStream(url, { concurrency, chunkSize: CHUNK });
		for await (const piece of download.readable) total += piece.byteLength;
	} else if (mode === 'single') {
		const response = await fetch(url);
		for await (const piece of response.body ?? []) total += (piece as Uint8Array).byteLength;
	} else {
		const chunks = new Map<number, { pieces: Uint8Array[]; done: boolean }>();
		const count = size / CHUNK;
		let next = 0;
		let started = 0;
		let reading = 0;
		let waiter: (() => void) | undefined;
		const wake = (): void => {
			const resolve = waiter;
			waiter = undefined;
			resolve?.();
		};
		const schedule = (): void => {
			while (started < count && started - next < 2 * concurrency && reading < concurrency) {
				const chunk = { pieces: [] as Uint8Array[], done: false };
				chunks.set(started, chunk);
				reading++;
				readRange(url, started++, mode, chunk.pieces, wake).then(() => {
					chunk.done = true;
					reading--;
					schedule();
					wake();
				});
			}
		};
		schedule();
		while (next < count) {
			const chunk = chunks.get(next);
			const piece = chunk?.pieces.shift();
			if (piece) total += piece.byteLength;
			else if (chunk?.done) {
				chunks.delete(next++);
				schedule();
			} else await new Promise<void>((resolve) => (waiter = resolve));
		}
	}
	if (total !== size) throw new Error(`read ${total} of ${size} bytes`);
	const used = process.cpuUsage(cpu);
	return { cpuMs: (used.user + used.system) / 1000, gcMs };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
	const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, size: { type: 'string', default: '512MiB' }, concurrency: { type: 'string', default: '8' } } });
	const size = parseSize(values.size);
	const origin = fork(process.argv[1] as string, ['--serve', String(size)]);
	const port = await new Promise<number>((resolve) => origin.once('message', (message) => resolve(Number(message))));
	const modes: Mode[] = ['single', 'default', 'byob', 'library'];
	const runs = new Map<Mode, { cpuMs: number; gcMs: number }[]>(modes.map((mode) => [mode, []]));
	try {
		for (let run = 0; run < Number(values.runs); run++) {
			for (const mode of run % 2 === 0 ? modes : [...modes].reverse()) {
				const out = execFileSync(process.execPath, [process.argv[1] as string, '--client', String(port), mode, String(size), values.concurrency]);
				const result = JSON.parse(out.toString()) as { cpuMs: number; gcMs: number };
				runs.get(mode)?.push(result);
				console.log(`${mode.padEnd(8)} cpu ${result.cpuMs.toFixed(0).padStart(6)} ms  gc ${result.gcMs.toFixed(0).padStart(5)} ms`);
			}
		}
	} finally {
		origin.kill();
	}
	const base = median((runs.get('single') ?? []).map((run) => run.cpuMs));
	for (const mode of modes) {
		const cpu = median((runs.get(mode) ?? []).map((run) => run.cpuMs));
		const gc = median((runs.get(mode) ?? []).map((run) => run.gcMs));
		console.log(`${mode}: median cpu ${cpu.toFixed(0)} ms (${(cpu / base).toFixed(2)} x one fetch), gc ${gc.toFixed(0)} ms`);
	}
}

const [flag, ...rest] = process.argv.slice(2);
if (flag === '--serve') serve(Number(rest[0]));
else if (flag === '--client') {
	const [port, mode, size, concurrency] = rest;
	client(Number(port), mode as Mode, Number(size), Number(concurrency)).then((result) => console.log(JSON.stringify(result)));
} else
	main().catch((error: unknown) => {
		console.error(error);
		process.exitCode = 1;
	});
