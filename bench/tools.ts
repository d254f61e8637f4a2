/**
 * The clients compared, each run as a child process of its own: this library, one plain `fetch()`
 * and the `split` reference (all three in `client.ts`), `curl` and `aria2c`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientResult, ClientSpec } from './client.ts';

export type ToolName = 'library' | 'fetch' | 'split' | 'curl' | 'aria2';
export const TOOL_NAMES: readonly ToolName[] = ['library', 'fetch', 'split', 'curl', 'aria2'];

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
	/** SHA-256 of what the tool delivered; undefined when not checked (curl writes to /dev/null). */
	sha256?: string;
	stats?: ClientResult['stats'];
}

export interface ToolRun {
	url: string;
	concurrency: number;
	chunkSize: number;
	consumerRate?: number;
	/** Extra Node flags for the Node clients (e.g. --cpu-prof). */
	nodeArgs?: string[];
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
	}
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

function run(command: string, args: string[]): Promise<Exited> {
	return new Promise((resolve, reject) => {
		const started = performance.now();
		const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
		child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
		child.once('error', reject);
		child.once('close', (code) => resolve({ code, stdout, stderr, elapsedMs: performance.now() - started }));
	});
}

/**
 * Runs `command` under GNU time when it is installed, for the peak RSS of the program itself
 * (`%M`, KiB); the wrapper adds about a millisecond to the wall time.
 */
async function runMeasured(command: string, args: string[], dir: string): Promise<Exited & { peakRssBytes?: number }> {
	if (!hasTime) return run(command, args);
	const out = join(dir, 'time.txt');
	const exited = await run(TIME, ['-f', '%M', '-o', out, command, ...args]);
	const text = await readFile(out, 'utf8').catch(() => '');
	const kib = Number(text.trim().split('\n').at(-1));
	return Number.isFinite(kib) && kib > 0 ? { ...exited, peakRssBytes: kib * 1024 } : exited;
}

function failed(what: string, exited: Exited): Error {
	const detail = (exited.stderr || exited.stdout).trim().split('\n').slice(-5).join('\n');
	return new Error(`${what} exited with ${exited.code}${detail ? `: ${detail}` : ''}`);
}

let profiles = 0;

async function runNode(tool: ClientSpec['tool'], options: ToolRun): Promise<Measurement> {
	const spec: ClientSpec = {
		tool,
		url: options.url,
		...(tool === 'library' ? { concurrency: options.concurrency, chunkSize: options.chunkSize } : {}),
		...(tool === 'split' ? { concurrency: options.concurrency } : {}),
		...(options.consumerRate === undefined ? {} : { consumerRate: options.consumerRate }),
	};
	const client = new URL('./client.ts', import.meta.url).pathname;
	const nodeArgs = [...(options.nodeArgs ?? [])];
	// One profile per run, named after the tool.
	if (nodeArgs.includes('--cpu-prof')) nodeArgs.push(`--cpu-prof-name=${tool}-${++profiles}-${process.pid}.cpuprofile`);
	const exited = await run(process.execPath, [...nodeArgs, client, JSON.stringify(spec)]);
	if (exited.code !== 0) throw failed(`the ${tool} client`, exited);
	const result = JSON.parse(exited.stdout.trim().split('\n').at(-1) ?? '') as ClientResult;
	return {
		bytes: result.bytes,
		elapsedMs: result.elapsedMs,
		ttfbMs: result.ttfbMs,
		...(result.warmTtfbMs === undefined ? {} : { warmTtfbMs: result.warmTtfbMs }),
		cpuMs: result.cpuMs,
		peakRssBytes: result.peakRssBytes,
		baselineRssBytes: result.baselineRssBytes,
		sha256: result.sha256,
		...(result.stats ? { stats: result.stats } : {}),
	};
}

async function runCurl(options: ToolRun): Promise<Measurement> {
	const dir = await mkdtemp(join(tmpdir(), 'pgs-bench-curl-'));
	try {
		// To /dev/null: curl is the transfer's ceiling here, not a hashing consumer.
		const format = '%{http_code} %{size_download} %{time_starttransfer} %{time_total}';
		const exited = await runMeasured('curl', ['-sS', '-o', '/dev/null', '-w', format, options.url], dir);
		if (exited.code !== 0) throw failed('curl', exited);
		const [status, size, starttransfer, total] = exited.stdout.trim().split(' ').map(Number);
		if (status !== 200) throw new Error(`curl got status ${status}`);
		return {
			bytes: size ?? 0,
			elapsedMs: (total ?? 0) * 1000,
			ttfbMs: (starttransfer ?? 0) * 1000,
			...(exited.peakRssBytes === undefined ? {} : { peakRssBytes: exited.peakRssBytes }),
		};
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

async function sha256File(path: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(piece as Buffer);
	return hash.digest('hex');
}

async function runAria2(options: ToolRun): Promise<Measurement> {
	const dir = await mkdtemp(join(tmpdir(), 'pgs-bench-aria2-'));
	try {
		const n = String(aria2Connections(options.concurrency));
		// aria2c writes to a file (ranges land at their offsets); it does not stream in order.
		const args = [
			'--no-conf',
			'-x', n,
			'-s', n,
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
		const exited = await runMeasured('aria2c', args, dir);
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
			return runNode(tool, options);
		case 'curl':
			return runCurl(options);
		case 'aria2':
			return runAria2(options);
	}
}
