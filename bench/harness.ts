/**
 * Runs scenarios side by side: one origin process, every client in a child process of its own,
 * the tools interleaved run by run (the order rotates) so that a noisy machine hurts all alike.
 */
import { cpus, loadavg } from 'node:os';
import { objectSha256 } from '../test/support/object.ts';
import { type BenchOrigin, type OriginStats, startOriginProcess } from './origin.ts';
import { MB, memoryWindow, type Scenario } from './scenarios.ts';
import { type Measurement, runLimitMs, runTool, type ToolName, toolAvailable, toolLabel } from './tools.ts';

export interface RunRecord extends Partial<Measurement> {
	tool: ToolName;
	run: number;
	/** MB/s (10^6 bytes per second). */
	mbps?: number;
	/** 'ok', 'mismatch', or 'unchecked' (the tool's output is not hashed). */
	hash?: 'ok' | 'mismatch' | 'unchecked';
	origin?: OriginStats;
	error?: string;
}

export interface ToolSummary {
	tool: ToolName;
	label: string;
	runs: number;
	failures: number;
	/** Medians over the successful runs. */
	mbps?: number;
	ttfbMs?: number;
	warmTtfbMs?: number;
	peakRssBytes?: number;
	baselineRssBytes?: number;
	/** Peak RSS minus the idle baseline (Node clients); median, and the worst run. */
	rssOverIdleBytes?: number;
	maxRssOverIdleBytes?: number;
	hash: 'ok' | 'mismatch' | 'unchecked' | 'failed';
	/** Responses the origin stalled on purpose (stragglers), median per run. */
	stragglers?: number;
	/** Requests the client made (origin's count of object GETs), median per run. */
	requests?: number;
	/** Faulty: responses reset mid-body and answered 503 among them, median per run. */
	resets?: number;
	unavailable?: number;
	/** Library only: its own peak of buffered bytes, worst run. */
	maxBufferedBytes?: number;
	/** Library only, when it reports them: hedge requests made and won, median per run. */
	hedges?: number;
	hedgesWon?: number;
	/** Library only: tails taken over by free slots, median per run. */
	steals?: number;
	/** Node clients: CPU time of the client process (user + system), median per run. */
	cpuMs?: number;
	errors: string[];
}

export interface Check {
	what: string;
	value: number | undefined;
	target: number;
	/** 'min': value must be >= target; 'max': value must be <= target. */
	kind: 'min' | 'max';
	met: boolean | undefined;
	detail: string;
}

export interface ScenarioResult {
	scenario: Scenario;
	window: number;
	runs: RunRecord[];
	summary: ToolSummary[];
	checks: Check[];
}

export type Log = (line: string) => void;

export function median(values: number[]): number | undefined {
	if (values.length === 0) return undefined;
	const sorted = [...values].sort((a, b) => a - b);
	const middle = sorted.length >> 1;
	return sorted.length % 2 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function defined<T>(values: (T | undefined)[]): T[] {
	return values.filter((value): value is T => value !== undefined);
}

interface BenchObject {
	path: string;
	url: string;
	sha256: string;
}

/** Defines the scenario's object on the origin once; returns its path, URL and SHA-256. */
export async function prepareObject(origin: BenchOrigin, size: number, seed: number): Promise<BenchObject> {
	const path = `/object-${size}-${seed}.bin`;
	const url = await origin.put(path, size, seed);
	return { path, url, sha256: await objectSha256(size, seed) };
}

/** One measured download of `tool`, on a freshly shaped and idle origin. */
export async function measure(
	origin: BenchOrigin,
	tool: ToolName,
	scenario: Pick<Scenario, 'shape' | 'faults' | 'concurrency' | 'chunkSize' | 'consumerRate' | 'size'> & { auto?: boolean; maxBuffer?: number },
	object: BenchObject,
	run: number,
	nodeArgs?: string[],
	integrity?: boolean,
): Promise<RunRecord> {
	await origin.shape(scenario.shape);
	await origin.reset();
	// After the reset: the schedule counts from the run's first GET.
	await origin.faults(object.path, scenario.faults);
	try {
		const measurement = await runTool(tool, {
			url: object.url,
			limitMs: runLimitMs(scenario.size),
			concurrency: scenario.concurrency,
			chunkSize: scenario.chunkSize,
			...(scenario.auto ? { auto: true } : {}),
			...(scenario.maxBuffer === undefined ? {} : { maxBuffer: scenario.maxBuffer }),
			...(scenario.consumerRate === undefined ? {} : { consumerRate: scenario.consumerRate }),
			...(scenario.faults === undefined ? {} : { faults: true }),
			...(nodeArgs ? { nodeArgs } : {}),
			...(integrity ? { integrity: `sha256:${object.sha256}` } : {}),
		});
		const stats = await origin.stats();
		const hash = measurement.sha256 === undefined ? 'unchecked' : measurement.sha256 === object.sha256 ? 'ok' : 'mismatch';
		const record: RunRecord = {
			tool,
			run,
			...measurement,
			mbps: measurement.bytes / MB / (measurement.elapsedMs / 1000),
			hash,
			origin: stats,
		};
		if (measurement.bytes !== scenario.size) record.error = `got ${measurement.bytes} bytes of ${scenario.size}`;
		return record;
	} catch (error) {
		// A tool that gives up (one fetch() under resets) is a result, not the harness's failure.
		const record: RunRecord = { tool, run, error: error instanceof Error ? error.message : String(error) };
		const stats = await origin.stats().catch(() => undefined);
		if (stats !== undefined) record.origin = stats;
		return record;
	}
}

function summarize(tool: ToolName, concurrency: number, records: RunRecord[]): ToolSummary {
	const good = records.filter((record) => record.error === undefined && record.hash !== 'mismatch');
	const overIdle = defined(good.map((record) => (record.peakRssBytes !== undefined && record.baselineRssBytes !== undefined ? record.peakRssBytes - record.baselineRssBytes : undefined)));
	const hashes = records.map((record) => record.hash);
	const buffered = defined(good.map((record) => record.stats?.maxBufferedBytes));
	const summary: ToolSummary = {
		tool,
		label: toolLabel(tool, concurrency),
		runs: records.length,
		failures: records.length - good.length,
		hash: hashes.includes('mismatch') ? 'mismatch' : good.length === 0 ? 'failed' : hashes.includes('ok') ? 'ok' : 'unchecked',
		errors: defined(records.map((record) => record.error)),
	};
	const set = <K extends keyof ToolSummary>(key: K, value: ToolSummary[K] | undefined): void => {
		if (value !== undefined) summary[key] = value;
	};
	set('mbps', median(defined(good.map((record) => record.mbps))));
	set('ttfbMs', median(defined(good.map((record) => record.ttfbMs))));
	set('warmTtfbMs', median(defined(good.map((record) => record.warmTtfbMs))));
	set('peakRssBytes', median(defined(good.map((record) => record.peakRssBytes))));
	set('baselineRssBytes', median(defined(good.map((record) => record.baselineRssBytes))));
	set('rssOverIdleBytes', median(overIdle));
	set('maxRssOverIdleBytes', overIdle.length > 0 ? Math.max(...overIdle) : undefined);
	set('stragglers', median(defined(good.map((record) => record.origin?.stragglers))));
	set('requests', median(defined(good.map((record) => record.origin?.gets))));
	set('resets', median(defined(good.map((record) => record.origin?.resets))));
	set('unavailable', median(defined(good.map((record) => record.origin?.unavailable))));
	set('maxBufferedBytes', buffered.length > 0 ? Math.max(...buffered) : undefined);
	set('hedges', median(defined(good.map((record) => record.stats?.hedges))));
	set('hedgesWon', median(defined(good.map((record) => record.stats?.hedgesWon))));
	set('steals', median(defined(good.map((record) => record.stats?.steals))));
	set('cpuMs', median(defined(good.map((record) => record.cpuMs))));
	return summary;
}

function check(what: string, value: number | undefined, kind: 'min' | 'max', target: number, detail: string): Check {
	return { what, value, target, kind, met: value === undefined ? undefined : kind === 'min' ? value >= target : value <= target, detail };
}

/** The targets of issue 4, for the scenario's library run against its ideal and its peers. */
function checks(scenario: Scenario, summary: ToolSummary[], window: number): Check[] {
	const of = (tool: ToolName): ToolSummary | undefined => summary.find((entry) => entry.tool === tool);
	const library = of('library');
	const fetch = of('fetch');
	const aria2 = of('aria2');
	const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
	const idealRatio = ratio(library?.mbps, scenario.ideal === undefined ? undefined : scenario.ideal / MB);
	const ttfb = [
		check('TTFB / fetch TTFB (fresh process)', ratio(library?.ttfbMs, fetch?.ttfbMs), 'max', 1.2, 'first byte no later than 1.2 x one fetch()'),
		check('TTFB / fetch TTFB (warm, 2nd download)', ratio(library?.warmTtfbMs, fetch?.warmTtfbMs), 'max', 1.2, 'the same, once code and connections are warm'),
	];
	const list: Check[] = [];
	switch (scenario.name) {
		case 'throttled':
			list.push(check('MB/s / ideal', idealRatio, 'min', 0.95, `>= 0.95 x ${(scenario.ideal ?? 0) / MB} MB/s`));
			if (aria2) list.push(check('MB/s / aria2c', ratio(library?.mbps, aria2.mbps), 'min', 1, 'at least as fast as aria2c'));
			if (fetch) list.push(...ttfb);
			break;
		case 'loopback':
			if (fetch) {
				list.push(check('MB/s / fetch', ratio(library?.mbps, fetch.mbps), 'min', 0.9, '>= 0.9 x one fetch() in the same runtime'));
				list.push(...ttfb);
			}
			break;
		case 'slow-consumer':
			list.push(
				check(
					'peak RSS over idle / window',
					ratio(library?.maxRssOverIdleBytes, window),
					'max',
					1.5,
					`worst run <= 1.5 x window (${window / 2 ** 20} MiB = 2 x ${scenario.concurrency} x ${scenario.chunkSize / 2 ** 20} MiB)`,
				),
			);
			break;
		case 'stragglers':
			list.push(check('MB/s / ideal', idealRatio, 'min', 0.8, `>= 0.8 x ${(scenario.ideal ?? 0) / MB} MB/s`));
			break;
		case 'faulty':
			if (aria2) list.push(check('MB/s / aria2c', ratio(library?.mbps, aria2.mbps), 'min', 1, 'at least as fast as aria2c on the same faults'));
			break;
	}
	return list;
}

function rotate<T>(items: T[], by: number): T[] {
	const shift = items.length === 0 ? 0 : by % items.length;
	return [...items.slice(shift), ...items.slice(0, shift)];
}

export function describeRecord(record: RunRecord): string {
	const faults = record.origin?.resets || record.origin?.unavailable ? `${record.origin.gets} GETs, ${record.origin.resets} reset, ${record.origin.unavailable} 503` : undefined;
	if (record.error !== undefined && record.mbps === undefined) return `error: ${record.error}${faults === undefined ? '' : ` (${faults})`}`;
	const parts = [`${record.mbps?.toFixed(1)} MB/s`];
	if (record.ttfbMs !== undefined) parts.push(`TTFB ${record.ttfbMs.toFixed(1)} ms${record.warmTtfbMs === undefined ? '' : ` (warm ${record.warmTtfbMs.toFixed(1)})`}`);
	if (record.peakRssBytes !== undefined) parts.push(`peak RSS ${(record.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
	if (record.origin?.stragglers) parts.push(`${record.origin.stragglers} stalled`);
	if (faults !== undefined) parts.push(faults);
	if (record.stats?.hedges) parts.push(`${record.stats.hedges} hedges (${record.stats.hedgesWon ?? 0} won)`);
	if (record.stats?.steals) parts.push(`${record.stats.steals} tails stolen`);
	if (record.cpuMs !== undefined) parts.push(`CPU ${(record.cpuMs / 1000).toFixed(2)} s`);
	parts.push(`sha256 ${record.hash}`);
	if (record.error !== undefined) parts.push(`error: ${record.error}`);
	return parts.join(', ');
}

export interface RunOptions {
	runs: number;
	log?: Log;
	/** Extra Node flags for the Node clients (e.g. `--cpu-prof`). */
	nodeArgs?: string[];
	/** The library verifies the object's sha256 (`integrity`). */
	integrity?: boolean;
}

export async function runScenario(origin: BenchOrigin, scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
	const { runs, log = () => {} } = options;
	const tools = scenario.tools.filter((tool) => {
		if (toolAvailable(tool)) return true;
		log(`${scenario.name}: ${tool} is not installed, skipped`);
		return false;
	});
	log(`${scenario.name}: preparing a ${scenario.size}-byte object`);
	const object = await prepareObject(origin, scenario.size, 1);
	const records: RunRecord[] = [];
	for (let run = 1; run <= runs; run++) {
		for (const tool of rotate(tools, run - 1)) {
			const record = await measure(origin, tool, scenario, object, run, options.nodeArgs, options.integrity);
			records.push(record);
			log(`${scenario.name} run ${run}/${runs} ${toolLabel(tool, scenario.concurrency)}: ${describeRecord(record)}`);
		}
	}
	const window = memoryWindow(scenario.concurrency, scenario.chunkSize);
	const summary = tools.map((tool) =>
		summarize(
			tool,
			scenario.concurrency,
			records.filter((record) => record.tool === tool),
		),
	);
	return { scenario, window, runs: records, summary, checks: checks(scenario, summary, window) };
}

export interface Machine {
	cpus: number;
	cpuModel: string;
	node: string;
	platform: string;
	/** 1-minute load average when the runs started and when they ended: how busy the machine was. */
	load: [number, number];
}

export function machine(loadAtStart: number): Machine {
	const list = cpus();
	return {
		cpus: list.length,
		cpuModel: list[0]?.model.trim() ?? 'unknown',
		node: process.version,
		platform: `${process.platform} ${process.arch}`,
		load: [loadAtStart, loadavg()[0] ?? 0],
	};
}

export interface BenchReport {
	machine: Machine;
	runs: number;
	scenarios: ScenarioResult[];
}

/** Starts the origin process, runs the scenarios in order, and always stops the origin. */
export async function runBench(scenarios: Scenario[], options: RunOptions): Promise<BenchReport> {
	const load = loadavg()[0] ?? 0;
	const origin = await startOriginProcess();
	try {
		const results: ScenarioResult[] = [];
		for (const scenario of scenarios) results.push(await runScenario(origin, scenario, options));
		return { machine: machine(load), runs: options.runs, scenarios: results };
	} finally {
		await origin.close();
	}
}

// ---------------------------------------------------------------- sweep

export interface SweepRow {
	scenario: 'throttled' | 'loopback';
	/** 'library', or a reference run ('aria2' on throttled, 'fetch' on loopback). */
	tool: ToolName;
	concurrency: number;
	chunkSize: number;
	mbps?: number;
	peakRssBytes?: number;
	rssOverIdleBytes?: number;
	maxBufferedBytes?: number;
	/** Throttled: MB/s / (concurrency x cap). Loopback: MB/s / fetch's MB/s. */
	ratio?: number;
	hash: ToolSummary['hash'];
	errors: string[];
}

export interface SweepReport {
	machine: Machine;
	runs: number;
	sizes: { throttled: number; loopback: number };
	rows: SweepRow[];
}

export interface SweepOptions {
	concurrencies: number[];
	chunkSizes: number[];
	runs: number;
	throttled: Scenario;
	loopback: Scenario;
}

export async function runSweep(options: SweepOptions, log: Log = () => {}): Promise<SweepReport> {
	const load = loadavg()[0] ?? 0;
	const origin = await startOriginProcess();
	try {
		const rows: SweepRow[] = [];
		for (const base of [options.throttled, options.loopback]) {
			const object = await prepareObject(origin, base.size, 1);
			const name = base.name as 'throttled' | 'loopback';
			const reference: ToolName = name === 'throttled' ? 'aria2' : 'fetch';
			const useReference = toolAvailable(reference);
			// Per concurrency: the reference next to the library's cells, so that each ratio compares
			// runs made close together in time (loopback is CPU-bound and the machine is shared).
			const cells: { tool: ToolName; concurrency: number; chunkSize: number }[] = [];
			for (const concurrency of options.concurrencies) {
				if (useReference) cells.push({ tool: reference, concurrency, chunkSize: 0 });
				for (const chunkSize of options.chunkSizes) cells.push({ tool: 'library', concurrency, chunkSize });
			}
			const records = new Map<string, RunRecord[]>();
			const key = (cell: (typeof cells)[number]): string => `${cell.tool}/${cell.concurrency}/${cell.chunkSize}`;
			for (let run = 1; run <= options.runs; run++) {
				// Every other run goes through the grid backwards, so that a trend in the machine's load
				// does not always favour the same cells.
				for (const cell of run % 2 === 1 ? cells : [...cells].reverse()) {
					const scenario = { ...base, concurrency: cell.concurrency, chunkSize: cell.chunkSize || base.chunkSize };
					const record = await measure(origin, cell.tool, scenario, object, run);
					const list = records.get(key(cell)) ?? [];
					list.push(record);
					records.set(key(cell), list);
					const chunk = cell.tool === 'library' ? ` chunk ${cell.chunkSize / 2 ** 20} MiB` : '';
					log(`sweep ${name} run ${run}/${options.runs} ${toolLabel(cell.tool, cell.concurrency)} c${cell.concurrency}${chunk}: ${describeRecord(record)}`);
				}
			}
			for (const cell of cells) {
				const summary = summarize(cell.tool, cell.concurrency, records.get(key(cell)) ?? []);
				// Loopback: against the fetch() runs of the same concurrency group.
				const fetchMbps = name === 'loopback' && useReference ? summarize('fetch', 1, records.get(`fetch/${cell.concurrency}/0`) ?? []).mbps : undefined;
				const ideal = name === 'throttled' ? (cell.concurrency * (base.shape?.bytesPerSecond ?? 0)) / MB : fetchMbps;
				const row: SweepRow = {
					scenario: name,
					tool: cell.tool,
					concurrency: cell.concurrency,
					chunkSize: cell.chunkSize,
					hash: summary.hash,
					errors: summary.errors,
				};
				if (summary.mbps !== undefined) row.mbps = summary.mbps;
				if (summary.peakRssBytes !== undefined) row.peakRssBytes = summary.peakRssBytes;
				if (summary.rssOverIdleBytes !== undefined) row.rssOverIdleBytes = summary.rssOverIdleBytes;
				if (summary.maxBufferedBytes !== undefined) row.maxBufferedBytes = summary.maxBufferedBytes;
				if (summary.mbps !== undefined && ideal) row.ratio = summary.mbps / ideal;
				rows.push(row);
			}
		}
		return { machine: machine(load), runs: options.runs, sizes: { throttled: options.throttled.size, loopback: options.loopback.size }, rows };
	} finally {
		await origin.close();
	}
}
