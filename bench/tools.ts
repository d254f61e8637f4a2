/**
 * The clients compared, each run as a child process of its own: this library, one plain `fetch()`,
 * the `split` reference and ipull (all four in `client.ts`), `curl` and `aria2c`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ClientResult, ClientSpec } from './client.ts';
import { MB } from './scenarios.ts';

export type ToolName = 'library' | 'fetch' | 'split' | 'curl' | 'aria2' | 'ipull';
export const TOOL_NAMES: readonly ToolName[] = ['library', 'fetch', 'split', 'curl', 'aria2', 'ipull'];

export interface Measurement {
	bytes: number;
	elapsedMs: number;
	/** Undefined where the tool does not tell (aria2c). */
	ttfbMs?: number;
	/** Node clients: TTFB of a second download in the same process. */
	warmTtfbMs?: number;
	/** Node clients: CPU time of the client process during the download. */
	cpuMs?: number;
	peakRssBytes?: number;
	/** Node clients: RSS once idle, before the download. */
	baselineRssBytes?: number;
	/** SHA-256 of what the tool delivered; undefined when not checked (curl writes to /dev/null, but for faults). */
	sha256?: string;
	stats?: ClientResult['stats'];
}

export interface ToolRun {
	url: string;
	/** The client's process is killed, and the run counted as failed, after this many ms (see `runLimitMs`). */
	limitMs: number;
	concurrency: number;
	/** Library: `'auto'` up to `concurrency`, and its memory budget. */
	auto?: boolean;
	maxBuffer?: number;
	chunkSize: number;
	consumerRate?: number;
	/** The origin injects faults: curl writes to a file (to be hashed) and retries. */
	faults?: boolean;
	/** Extra Node flags for the Node clients (e.g. --cpu-prof). */
	nodeArgs?: string[];
	/** The library's `integrity` option. */
	integrity?: string;
}

const TIME = '/usr/bin/time';
const hasTime = existsSync(TIME);

/** Whether an external program can be run (`--version` exits 0). */
export function available(program: string): boolean {
	const result = spawnSync(program, ['--version'], { stdio: 'ignore' });
	return result.status === 0;
}

export function toolAvailable(tool: ToolName): boolean {
	if (tool === 'curl') return available('curl');
	if (tool === 'aria2') return available('aria2c');
	return true;
}

export function toolLabel(tool: ToolName, concurrency: number): string {
	switch (tool) {
		case 'library':
			return 'parallel-get-stream';
		case 'fetch':
			return 'fetch() (1 conn)';
		case 'split':
			return `fetch() x ${concurrency}, size known`;
		case 'curl':
			return 'curl (1 conn)';
		case 'aria2':
			return `aria2c -x${aria2Connections(concurrency)} -s${aria2Connections(concurrency)}`;
		case 'ipull':
			return `ipull (${concurrency} streams)`;
	}
}

/** aria2c's `--min-split-size`, in whole MiB from 1 to 1024. */
export function aria2SplitSize(chunkSize: number): string {
	return `${Math.min(1024, Math.max(1, Math.round(chunkSize / 2 ** 20)))}M`;
}

/** aria2c allows at most 16 connections per server. */
function aria2Connections(concurrency: number): number {
	return Math.min(16, Math.max(1, concurrency));
}

interface Exited {
	code: number | null;
	stdout: string;
	stderr: string;
	elapsedMs: number;
}

/**
 * How long a client may take over an object of `size` bytes before it counts as hung: as long as
 * 2 MB/s would take, and a minute at least. Every scenario runs far faster; a peer that hangs
 * (or a fault it never recovers from) fails its run instead of holding up the whole bench.
 */
export function runLimitMs(size: number): number {
	return Math.max(60_000, (size / (2 * MB)) * 1000);
}

/** Process groups of the clients running now (see `run`). */
const groups = new Set<number>();

/** Kills a client's process group; one that has just exited is gone already. */
function killGroup(pid: number): void {
	try {
		process.kill(-pid, 'SIGKILL');
	} catch {
		// ESRCH: nothing left to kill.
	}
}

let forwarding = false;

/**
 * A client in a group of its own no longer gets the terminal's Ctrl-C with the bench: on SIGINT
 * or SIGTERM the bench kills every client's group, then ends by the same signal.
 */
function forwardSignals(): void {
	if (forwarding) return;
	forwarding = true;
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.once(signal, () => {
			for (const pid of groups) killGroup(pid);
			process.kill(process.pid, signal);
		});
	}
}

function run(command: string, args: string[], limitMs: number): Promise<Exited> {
	forwardSignals();
	return new Promise((resolve, reject) => {
		const started = performance.now();
		// A group of its own, so that a time bound kills what it started too (GNU time's child).
		const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
		const { pid } = child;
		if (pid !== undefined) groups.add(pid);
		let stdout = '';
		let stderr = '';
		let hung = false;
		const timer = setTimeout(() => {
			hung = true;
			if (pid !== undefined) killGroup(pid);
		}, limitMs);
		const ended = (): void => {
			clearTimeout(timer);
			if (pid !== undefined) groups.delete(pid);
		};
		child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
		child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
		child.once('error', (error) => {
			ended();
			reject(error);
		});
		child.once('close', (code) => {
			ended();
			if (hung) reject(new Error(`${basename(command)} did not finish within ${Math.round(limitMs / 1000)} s and was killed`));
			else resolve({ code, stdout, stderr, elapsedMs: performance.now() - started });
		});
	});
}

/**
 * Runs `command` under GNU time when it is installed, for the peak RSS of the program itself
 * (`%M`, KiB); the wrapper adds about a millisecond to the wall time.
 */
async function runMeasured(command: string, args: string[], dir: string, limitMs: number): Promise<Exited & { peakRssBytes?: number }> {
	if (!hasTime) return run(command, args, limitMs);
	const out = join(dir, 'time.txt');
	const exited = await run(TIME, ['-f', '%M', '-o', out, command, ...args], limitMs);
	const text = await readFile(out, 'utf8').catch(() => '');
	const kib = Number(text.trim().split('\n').at(-1));
	return Number.isFinite(kib) && kib > 0 ? { ...exited, peakRssBytes: kib * 1024 } : exited;
}

function failed(what: string, exited: Exited): Error {
	const lines = (exited.stderr || exited.stdout).trim().split('\n');
	// The Node clients end with one `failed: ...` line; the other tools' last lines say why.
	const reason = lines.findLast((line) => line.startsWith('failed: '));
	const detail = reason === undefined ? lines.slice(-5).join('\n') : reason.slice('failed: '.length);
	return new Error(`${what} exited with ${exited.code}${detail ? `: ${detail}` : ''}`);
}

let profiles = 0;

async function runNode(tool: ClientSpec['tool'], options: ToolRun): Promise<Measurement> {
	// ipull downloads into a file and writes control sequences to stdout: the result goes to a file.
	const dir = tool === 'ipull' ? await mkdtemp(join(tmpdir(), 'pgs-bench-ipull-')) : undefined;
	try {
		const spec: ClientSpec = {
			tool,
			url: options.url,
			...(tool === 'library' ? { concurrency: options.concurrency, chunkSize: options.chunkSize } : {}),
			...(tool === 'library' && options.integrity !== undefined ? { integrity: options.integrity } : {}),
			...(tool === 'library' && options.auto ? { auto: true } : {}),
			...(tool === 'library' && options.maxBuffer !== undefined ? { maxBuffer: options.maxBuffer } : {}),
			...(tool === 'split' || tool === 'ipull' ? { concurrency: options.concurrency } : {}),
			...(dir === undefined ? {} : { dir, resultFile: join(dir, 'result.json') }),
			...(options.consumerRate === undefined ? {} : { consumerRate: options.consumerRate }),
		};
		const client = new URL('./client.ts', import.meta.url).pathname;
		const nodeArgs = [...(options.nodeArgs ?? [])];
		// One profile per run, named after the tool.
		if (nodeArgs.includes('--cpu-prof')) nodeArgs.push(`--cpu-prof-name=${tool}-${++profiles}-${process.pid}.cpuprofile`);
		const exited = await run(process.execPath, [...nodeArgs, client, JSON.stringify(spec)], options.limitMs);
		if (exited.code !== 0) throw failed(`the ${tool} client`, exited);
		const text = spec.resultFile === undefined ? (exited.stdout.trim().split('\n').at(-1) ?? '') : await readFile(spec.resultFile, 'utf8');
		return measurement(JSON.parse(text) as ClientResult);
	} finally {
		if (dir !== undefined) await rm(dir, { recursive: true, force: true });
	}
}

function measurement(result: ClientResult): Measurement {
	return {
		bytes: result.bytes,
		elapsedMs: result.elapsedMs,
		...(result.ttfbMs === undefined ? {} : { ttfbMs: result.ttfbMs }),
		...(result.warmTtfbMs === undefined ? {} : { warmTtfbMs: result.warmTtfbMs }),
		cpuMs: result.cpuMs,
		peakRssBytes: result.peakRssBytes,
		baselineRssBytes: result.baselineRssBytes,
		sha256: result.sha256,
		...(result.stats ? { stats: result.stats } : {}),
	};
}

/**
 * curl's own retries, for the faulty scenario: `--retry` with `--retry-all-errors` (a reset
 * mid-body is not one of the errors curl deems transient) and a fixed `--retry-delay 1`, the least
 * it takes. A retry sends the whole request again: curl 7.88 throws away the bytes it had
 * ("Throwing away N bytes"); `-C -` only resumes from a file left by an earlier run.
 */
export const CURL_RETRY_ARGS = ['--retry', '20', '--retry-all-errors', '--retry-delay', '1'];

async function runCurl(options: ToolRun): Promise<Measurement> {
	const dir = await mkdtemp(join(tmpdir(), 'pgs-bench-curl-'));
	try {
		const format = '%{http_code} %{size_download} %{time_starttransfer} %{time_total}';
		// To /dev/null: curl is the transfer's ceiling here, not a hashing consumer. Under faults it
		// writes a file, hashed after the clock stopped: bytes that arrive are not always the right ones.
		const file = join(dir, 'object.bin');
		const args = options.faults ? [...CURL_RETRY_ARGS, '-o', file] : ['-o', '/dev/null'];
		const exited = await runMeasured('curl', ['-sS', ...args, '-w', format, options.url], dir, options.limitMs);
		if (exited.code !== 0) throw failed('curl', exited);
		const [status, size, starttransfer, total] = exited.stdout.trim().split(' ').map(Number);
		if (status !== 200) throw new Error(`curl got status ${status}`);
		const peak = exited.peakRssBytes === undefined ? {} : { peakRssBytes: exited.peakRssBytes };
		// curl's -w times are those of its last attempt: under faults, the wall time of the process.
		if (options.faults) return { bytes: (await stat(file)).size, elapsedMs: exited.elapsedMs, sha256: await sha256File(file), ...peak };
		return { bytes: size ?? 0, elapsedMs: (total ?? 0) * 1000, ttfbMs: (starttransfer ?? 0) * 1000, ...peak };
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

async function sha256File(path: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(piece as Buffer);
	return hash.digest('hex');
}

/**
 * aria2c retries a broken connection by itself (`--max-tries`, default 5); it retries a 503 only
 * when `--retry-wait` is above 0 (its manual; the default is 0), in whole seconds, 1 the least.
 */
export const ARIA2_RETRY_ARGS = ['--max-tries=20', '--retry-wait=1'];

async function runAria2(options: ToolRun): Promise<Measurement> {
	const dir = await mkdtemp(join(tmpdir(), 'pgs-bench-aria2-'));
	try {
		const n = String(aria2Connections(options.concurrency));
		// aria2c writes to a file (ranges land at their offsets); it does not stream in order.
		const args = [
			'--no-conf',
			'-x', n,
			'-s', n,
			// Pieces of the library's chunkSize (aria2c's default, 20 MiB, splits a 64 MiB object in two).
			`--min-split-size=${aria2SplitSize(options.chunkSize)}`,
			...ARIA2_RETRY_ARGS,
			'-d', dir,
			'-o', 'object.bin',
			'--file-allocation=none',
			'--allow-overwrite=true',
			'--auto-file-renaming=false',
			'--summary-interval=0',
			'--download-result=hide',
			'--console-log-level=error',
			options.url,
		];
		const exited = await runMeasured('aria2c', args, dir, options.limitMs);
		if (exited.code !== 0) throw failed('aria2c', exited);
		const file = join(dir, 'object.bin');
		// Checked after the clock stopped.
		const sha256 = await sha256File(file);
		const { size } = await stat(file);
		return {
			bytes: size,
			elapsedMs: exited.elapsedMs,
			sha256,
			...(exited.peakRssBytes === undefined ? {} : { peakRssBytes: exited.peakRssBytes }),
		};
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

export function runTool(tool: ToolName, options: ToolRun): Promise<Measurement> {
	switch (tool) {
		case 'library':
		case 'fetch':
		case 'split':
		case 'ipull':
			return runNode(tool, options);
		case 'curl':
			return runCurl(options);
		case 'aria2':
			return runAria2(options);
	}
}
