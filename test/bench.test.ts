import { createServer, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { faultFor, faultRule } from '../bench/faults.ts';
import { runBench } from '../bench/harness.ts';
import { DEFAULTS, MiB, PROBE_HEADER, scenario } from '../bench/scenarios.ts';
import { runTool, toolAvailable } from '../bench/tools.ts';
import { objectSha256 } from './support/object.ts';

// Smoke test of `npm run bench`: the harness runs end to end on a tiny object and checks what it
// measured. No timing assertions: the machine may be anything.
describe('bench harness', () => {
	test('runBench - loopback on 8 MiB gives one hashed result per tool', { timeout: 120_000 }, async () => {
		const size = 8 * MiB;
		const report = await runBench([scenario('loopback', { size, chunkSize: 1 * MiB, concurrency: 4 })], { runs: 1 });

		expect(report.scenarios).toHaveLength(1);
		const [result] = report.scenarios;
		const tools = result?.summary.map((entry) => entry.tool);
		expect(tools).toEqual(['library', 'fetch', ...(['curl', 'aria2'] as const).filter((tool) => toolAvailable(tool)), 'ipull']);

		for (const record of result?.runs ?? []) {
			expect(record.error, `${record.tool}: ${record.error}`).toBeUndefined();
			expect(record.bytes).toBe(size);
			expect(record.mbps).toBeGreaterThan(0);
			// curl writes to /dev/null; every other tool's output is hashed.
			expect(record.hash).toBe(record.tool === 'curl' ? 'unchecked' : 'ok');
		}
		// ipull's file, read back after its download, is the object.
		const ipull = result?.runs.find((record) => record.tool === 'ipull');
		expect(ipull?.sha256).toBe(await objectSha256(size, 1));
		expect(ipull?.origin?.gets).toBeGreaterThanOrEqual(1);
		const library = result?.runs.find((record) => record.tool === 'library');
		expect(library?.ttfbMs).toBeGreaterThan(0);
		expect(library?.peakRssBytes).toBeGreaterThan(library?.baselineRssBytes ?? Number.POSITIVE_INFINITY);
		// 8 chunks of 1 MiB: discovery plus 7 ranges; more only for a retry, a hedge (a loaded
		// machine can delay a chunk long enough to be hedged) or a tail stolen at the end. A hedge
		// or a steal aborted at once (the request it races ends first) may never reach the origin.
		const extra = (library?.stats?.retries ?? 0) + (library?.stats?.hedges ?? 0) + (library?.stats?.steals ?? 0);
		expect(library?.origin?.gets).toBeGreaterThanOrEqual(8);
		expect(library?.origin?.gets).toBeLessThanOrEqual(8 + extra);
		// The library's defaults: concurrency, as many sent early (overlap), and max(1, ceil(4 / 4)) hedges.
		expect(library?.stats?.maxInFlight).toBeLessThanOrEqual(2 * 4 + 1);
		// Both Node clients report the CPU time of their download.
		for (const tool of ['library', 'fetch']) expect(result?.runs.find((record) => record.tool === tool)?.cpuMs).toBeGreaterThan(0);
		expect(result?.summary.find((entry) => entry.tool === 'library')?.hash).toBe('ok');
		expect(result?.checks.map((item) => item.what)).toContain('MB/s / fetch');
	});

	test('runBench - the split reference on throttled: one range request per part, the object hashed whole', { timeout: 60_000 }, async () => {
		const size = 8 * MiB + 3;
		const report = await runBench([scenario('throttled', { size, concurrency: 4, rate: 400e6, ttfbMs: 1, tools: ['split'] })], { runs: 1 });
		const [record] = report.scenarios[0]?.runs ?? [];
		expect(record?.tool).toBe('split');
		expect(record?.error, record?.error).toBeUndefined();
		expect(record?.bytes).toBe(size);
		expect(record?.hash).toBe('ok');
		expect(record?.origin?.gets).toBe(4);
	});

	test('faultFor - the seeded schedule: 503s where asked, about the fraction reset, the same every time', () => {
		const plan = { seed: DEFAULTS.faulty.seed, resetFraction: 0.2, unavailable: [2, 5] };
		const schedule = Array.from({ length: 2000 }, (_, index) => faultFor(plan, index + 1, 4 * MiB));
		expect(Array.from({ length: 2000 }, (_, index) => faultFor(plan, index + 1, 4 * MiB))).toEqual(schedule);
		expect(schedule[1]).toEqual({ status: 503 });
		expect(schedule[4]).toEqual({ status: 503 });
		expect(schedule.filter((fault) => fault?.status !== undefined)).toHaveLength(2);
		// The default seed resets the first response, the one every tool makes.
		expect(schedule[0]?.resetAfterBytes).toBeGreaterThan(0);
		const resets = schedule.map((fault) => fault?.resetAfterBytes).filter((at) => at !== undefined);
		expect(resets.length / schedule.length).toBeGreaterThan(0.17);
		expect(resets.length / schedule.length).toBeLessThan(0.23);
		// Mid-body: between 10 % and 90 % of the body.
		for (const at of resets) expect(at >= 0.1 * 4 * MiB && at <= 0.9 * 4 * MiB).toBe(true);
		// Another seed, another schedule.
		expect(Array.from({ length: 50 }, (_, index) => faultFor({ ...plan, seed: plan.seed + 1 }, index + 1, 4 * MiB))).not.toEqual(schedule.slice(0, 50));
	});

	test('faultRule - HEAD and probe requests neither count nor meet faults', () => {
		const rule = faultRule({ seed: 7, resetFraction: 0.2, unavailable: [2] }, 1000, PROBE_HEADER);
		const get = (headers: Record<string, string> = {}) => rule({ method: 'GET', path: '/x', range: undefined, headers, count: 0 });
		expect(rule({ method: 'HEAD', path: '/x', range: undefined, headers: {}, count: 0 })).toBeUndefined();
		expect(get({ [PROBE_HEADER]: '1' })).toBeUndefined();
		// GET 1 of seed 7 is reset, of the whole object when no range was asked.
		expect(get()?.resetAfterBytes).toBe(faultFor({ seed: 7, resetFraction: 0.2, unavailable: [2] }, 1, 1000)?.resetAfterBytes);
		expect(get()).toEqual({ status: 503 });
	});

	test('runBench - faulty on 8 MiB: every tool hashed, or failed with its reason; the library passes', { timeout: 120_000 }, async () => {
		const size = 8 * MiB;
		const report = await runBench([scenario('faulty', { size, chunkSize: 1 * MiB, rate: 400e6, ttfbMs: 1 })], { runs: 1 });
		const [result] = report.scenarios;
		expect(result?.summary.map((entry) => entry.tool)).toEqual(['library', 'fetch', ...(['curl', 'aria2'] as const).filter((tool) => toolAvailable(tool)), 'ipull']);
		const of = (tool: string) => result?.runs.find((record) => record.tool === tool);

		// The library meets resets (the first response among them) and both 503s, and delivers the object.
		const library = of('library');
		expect(library?.error, library?.error).toBeUndefined();
		expect(library?.hash).toBe('ok');
		expect(library?.bytes).toBe(size);
		expect(library?.origin?.unavailable).toBe(2);
		expect(library?.origin?.resets).toBeGreaterThanOrEqual(1);
		expect(library?.stats?.retries).toBeGreaterThanOrEqual(3);

		// One fetch() has no retry: its only response is reset (seed 7), and that is its result.
		const fetch = of('fetch');
		expect(fetch?.error).toMatch(/terminated|other side closed/);
		expect(fetch?.origin?.resets).toBe(1);
		expect(result?.summary.find((entry) => entry.tool === 'fetch')?.hash).toBe('failed');

		// Under faults curl writes a file: every tool that ends is judged by the SHA-256 of its bytes.
		for (const tool of ['curl', 'aria2', 'ipull']) {
			const record = of(tool);
			if (record === undefined) continue;
			expect(record.error, `${tool}: ${record.error}`).toBeUndefined();
			expect(record.bytes).toBe(size);
			expect(record.hash, tool).toBe('ok');
		}
		expect(result?.checks.map((item) => item.what)).toEqual(toolAvailable('aria2') ? ['MB/s / aria2c'] : []);
	});

	// A peer's client that waited for ever on a response that never ended hung the whole bench.
	test.each(['fetch', ...(['curl', 'aria2'] as const).filter((tool) => toolAvailable(tool))] as const)(
		'a run of %s that never ends is killed at its time bound, and fails',
		{ timeout: 30_000 },
		async (tool) => {
			// Accepts, reads the request, and never answers.
			const sockets = new Set<Socket>();
			const server = createServer((socket) => {
				sockets.add(socket);
				socket.on('error', () => undefined);
			});
			await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			try {
				const run = runTool(tool, { url: `http://127.0.0.1:${port}/never.bin`, limitMs: 1500, concurrency: 2, chunkSize: MiB });
				await expect(run).rejects.toThrow(/did not finish within 2 s and was killed/);
			} finally {
				for (const socket of sockets) socket.destroy();
				await new Promise((resolve) => server.close(resolve));
			}
		},
	);
});
