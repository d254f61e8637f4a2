import { describe, expect, test } from 'vitest';
import { runBench } from '../bench/harness.ts';
import { MiB, scenario } from '../bench/scenarios.ts';
import { toolAvailable } from '../bench/tools.ts';

// Smoke test of `npm run bench`: the harness runs end to end on a tiny object and checks what it
// measured. No timing assertions: the machine may be anything.
describe('bench harness', () => {
	test('runBench - loopback on 8 MiB gives one hashed result per tool', { timeout: 120_000 }, async () => {
		const size = 8 * MiB;
		const report = await runBench([scenario('loopback', { size, chunkSize: 1 * MiB, concurrency: 4 })], { runs: 1 });

		expect(report.scenarios).toHaveLength(1);
		const [result] = report.scenarios;
		const tools = result?.summary.map((entry) => entry.tool);
		expect(tools).toEqual(['library', 'fetch', ...(['curl', 'aria2'] as const).filter((tool) => toolAvailable(tool))]);

		for (const record of result?.runs ?? []) {
			expect(record.error, `${record.tool}: ${record.error}`).toBeUndefined();
			expect(record.bytes).toBe(size);
			expect(record.mbps).toBeGreaterThan(0);
			// curl writes to /dev/null; every other tool's output is hashed.
			expect(record.hash).toBe(record.tool === 'curl' ? 'unchecked' : 'ok');
		}
		const library = result?.runs.find((record) => record.tool === 'library');
		expect(library?.ttfbMs).toBeGreaterThan(0);
		expect(library?.peakRssBytes).toBeGreaterThan(library?.baselineRssBytes ?? Number.POSITIVE_INFINITY);
		// 8 chunks of 1 MiB: discovery plus 7 ranges; more only for a retry, a hedge (a loaded
		// machine can delay a chunk long enough to be hedged) or a tail stolen at the end.
		const extra = (library?.stats?.retries ?? 0) + (library?.stats?.hedges ?? 0) + (library?.stats?.steals ?? 0);
		expect(library?.origin?.gets).toBe(8 + extra);
		// The library's defaults: concurrency plus max(1, ceil(4 / 4)) hedged or overlapping requests.
		expect(library?.stats?.maxInFlight).toBeLessThanOrEqual(4 + 1);
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
});
