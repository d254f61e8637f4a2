/**
 * `npm run bench -- --adaptive`: `concurrency: 'auto'` against fixed settings of the library, in
 * the scenarios of issue 16 (throttled, a shared link, slow connections, a connection limit) and
 * the existing stragglers and faulty ones. Every setting of a scenario runs once per round, the
 * order reversed every other round, so that the ratios compare runs made close together on a
 * shared machine; the medians are reported side by side with `auto / best fixed`.
 */
import { loadavg } from 'node:os';
import type { ShapeOptions } from '../test/support/origin.ts';
import { describeRecord, type Log, machine, type Machine, measure, median, prepareObject, type RunRecord } from './harness.ts';
import { startOriginProcess } from './origin.ts';
import { DEFAULTS, MB, MiB, scenario, type Scenario } from './scenarios.ts';

/** One setting of the library: a fixed concurrency, or 'auto' (up to 64), each with its budget. */
export interface Setting {
	label: string;
	concurrency: number;
	auto: boolean;
	maxBuffer?: number;
}

export interface AdaptiveScenario {
	name: string;
	description: string;
	base: Pick<Scenario, 'shape' | 'faults' | 'chunkSize' | 'size'>;
	settings: Setting[];
	/** What the issue asks of 'auto' here, in words (the verdict is printed beside it). */
	target: string;
	/** The best possible MB/s, where there is one. */
	ideal?: number;
}

const fixed = (concurrency: number, maxBuffer?: number): Setting => ({
	label: `fixed ${concurrency}${maxBuffer === undefined ? '' : `, ${maxBuffer / MiB} MiB`}`,
	concurrency,
	auto: false,
	...(maxBuffer === undefined ? {} : { maxBuffer }),
});
const auto = (maxBuffer?: number): Setting => ({
	label: `auto${maxBuffer === undefined ? '' : `, ${maxBuffer / MiB} MiB`}`,
	concurrency: 64,
	auto: true,
	...(maxBuffer === undefined ? {} : { maxBuffer }),
});

const budget = 128 * MiB;

export function adaptiveScenarios(size?: number): AdaptiveScenario[] {
	const chunkSize = DEFAULTS.chunkSize;
	const ttfbMs = DEFAULTS.ttfbMs;
	const stragglers = scenario('stragglers', size === undefined ? {} : { size });
	const faulty = scenario('faulty', size === undefined ? {} : { size });
	const shaped = (shape: ShapeOptions, objectSize: number) => ({ shape: { ttfbMs, ...shape }, chunkSize, size: size ?? objectSize });
	return [
		{
			name: 'throttled',
			description: '20 MB/s per connection',
			base: shaped({ bytesPerSecond: 20 * MB }, 256 * MiB),
			// Within the 128 MiB budget: 16 connections hold one 8 MiB chunk each, no slack.
			settings: [fixed(4), fixed(8), fixed(16, budget), auto()],
			target: ">= 0.9 x the best fixed within the budget",
		},
		{
			name: 'shared-link',
			description: '40 MB/s per connection, 100 MB/s for all of them together',
			base: shaped({ bytesPerSecond: 40 * MB, linkBytesPerSecond: 100 * MB }, 256 * MiB),
			settings: [fixed(2), fixed(4), fixed(8), auto()],
			target: '>= 0.95 of the link with at most 4 connections',
			ideal: 100 * MB,
		},
		{
			name: 'slow-connections',
			description: '5 MB/s per connection, no shared cap',
			base: shaped({ bytesPerSecond: 5 * MB }, 512 * MiB),
			// The budget allows 32 connections of one chunk each.
			settings: [fixed(8), fixed(32, 4 * budget), auto(4 * budget)],
			target: '>= 2 x the fixed 8, growing well past 8 while the budget allows',
		},
		{
			name: 'connection-limit',
			description: '20 MB/s per connection; the server answers 503 beyond 4 responses at once',
			base: shaped({ bytesPerSecond: 20 * MB, maxResponses: { limit: 4 } }, 256 * MiB),
			settings: [fixed(4), fixed(8), auto()],
			target: 'no failure, settles at 4, fewer 503s than the fixed 8',
		},
		{
			name: 'stragglers',
			description: stragglers.description,
			base: { shape: stragglers.shape, chunkSize, size: stragglers.size },
			settings: [fixed(8), auto()],
			target: 'no worse than the fixed 8',
		},
		{
			name: 'faulty',
			description: faulty.description,
			base: { shape: faulty.shape, ...(faulty.faults ? { faults: faulty.faults } : {}), chunkSize: faulty.chunkSize, size: faulty.size },
			settings: [fixed(4), fixed(8), auto()],
			target: 'no worse than the fixed 8',
		},
	];
}

export interface SettingSummary {
	label: string;
	runs: number;
	failures: number;
	mbps?: number;
	/** Origin: object GETs and 503s, median per run. */
	requests?: number;
	unavailable?: number;
	/** Library: connections at the end and at most, bytes held at most (worst run). */
	concurrency?: number;
	maxConcurrency?: number;
	maxBufferedBytes?: number;
	hash: 'ok' | 'mismatch' | 'failed';
	errors: string[];
}

export interface AdaptiveResult {
	name: string;
	description: string;
	target: string;
	ideal?: number;
	settings: SettingSummary[];
	/** auto's MB/s over the best fixed setting's. */
	autoOverBest?: number;
	best?: string;
}

export interface AdaptiveReport {
	machine: Machine;
	runs: number;
	scenarios: AdaptiveResult[];
}

function summarize(label: string, records: RunRecord[]): SettingSummary {
	const good = records.filter((record) => record.error === undefined && record.hash === 'ok');
	const numbers = (pick: (record: RunRecord) => unknown): number[] =>
		good.map(pick).filter((value): value is number => typeof value === 'number');
	const summary: SettingSummary = {
		label,
		runs: records.length,
		failures: records.length - good.length,
		hash: records.some((record) => record.hash === 'mismatch') ? 'mismatch' : good.length === 0 ? 'failed' : 'ok',
		errors: records.map((record) => record.error).filter((error): error is string => error !== undefined),
	};
	const set = <K extends keyof SettingSummary>(key: K, value: SettingSummary[K] | undefined): void => {
		if (value !== undefined) summary[key] = value;
	};
	set('mbps', median(numbers((record) => record.mbps)));
	set('requests', median(numbers((record) => record.origin?.gets)));
	set('unavailable', median(numbers((record) => record.origin?.unavailable)));
	set('concurrency', median(numbers((record) => record.stats?.concurrency)));
	set('maxConcurrency', median(numbers((record) => record.stats?.maxConcurrency)));
	const buffered = numbers((record) => record.stats?.maxBufferedBytes);
	set('maxBufferedBytes', buffered.length > 0 ? Math.max(...buffered) : undefined);
	return summary;
}

/** 'auto''s changes as `concurrency@ms reason`, how it converged. */
function timeline(stats: Record<string, unknown>): string {
	const changes = stats.concurrencyChanges;
	if (!Array.isArray(changes)) return '';
	return `: ${changes.map((change: { at: number; concurrency: number; reason: string }) => `${change.concurrency}@${change.at} ${change.reason}`).join(', ')}`;
}

export async function runAdaptive(options: { runs: number; size?: number; only?: string[]; log?: Log }): Promise<AdaptiveReport> {
	const { runs, log = () => {} } = options;
	const load = loadavg()[0] ?? 0;
	const origin = await startOriginProcess();
	try {
		const results: AdaptiveResult[] = [];
		for (const adaptive of adaptiveScenarios(options.size)) {
			if (options.only && !options.only.includes(adaptive.name)) continue;
			const object = await prepareObject(origin, adaptive.base.size, 1);
			const records = new Map<string, RunRecord[]>();
			for (let run = 1; run <= runs; run++) {
				const order = run % 2 === 1 ? adaptive.settings : [...adaptive.settings].reverse();
				for (const setting of order) {
					const record = await measure(
						origin,
						'library',
						{ ...adaptive.base, concurrency: setting.concurrency, auto: setting.auto, ...(setting.maxBuffer === undefined ? {} : { maxBuffer: setting.maxBuffer }) },
						object,
						run,
					);
					records.set(setting.label, [...(records.get(setting.label) ?? []), record]);
					const used = record.stats ? `, concurrency ${record.stats.concurrency} (most ${record.stats.maxConcurrency})${setting.auto ? timeline(record.stats) : ''}` : '';
					log(`${adaptive.name} run ${run}/${runs} ${setting.label}: ${describeRecord(record)}${used}`);
				}
			}
			const settings = adaptive.settings.map((setting) => summarize(setting.label, records.get(setting.label) ?? []));
			const fixedOnes = settings.filter((summary, index) => !adaptive.settings[index]?.auto && summary.mbps !== undefined);
			const best = fixedOnes.sort((a, b) => (b.mbps ?? 0) - (a.mbps ?? 0))[0];
			const autoSummary = settings.find((_, index) => adaptive.settings[index]?.auto);
			const result: AdaptiveResult = { name: adaptive.name, description: adaptive.description, target: adaptive.target, settings };
			if (adaptive.ideal !== undefined) result.ideal = adaptive.ideal;
			if (best?.mbps && autoSummary?.mbps !== undefined) {
				result.autoOverBest = autoSummary.mbps / best.mbps;
				result.best = best.label;
			}
			results.push(result);
		}
		return { machine: machine(load), runs, scenarios: results };
	} finally {
		await origin.close();
	}
}

export function formatAdaptive(report: AdaptiveReport): string {
	const { machine: m } = report;
	const lines = [
		`${m.cpus} x ${m.cpuModel}, Node ${m.node}, load average ${m.load[0].toFixed(1)} at the start and ${m.load[1].toFixed(1)} at the end; medians of ${report.runs} runs, settings alternating`,
		'',
		'| scenario | setting | MB/s | / best fixed | requests | 503s | connections at the end (most) | max buffered MiB | sha256 |',
		'| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
	];
	for (const result of report.scenarios) {
		const bestMbps = result.settings.find((setting) => setting.label === result.best)?.mbps;
		result.settings.forEach((setting, index) => {
			const cells = [
				index === 0 ? result.name : '',
				setting.label,
				setting.mbps === undefined ? `failed (${setting.failures}/${setting.runs})` : setting.mbps.toFixed(1),
				setting.mbps !== undefined && bestMbps ? (setting.mbps / bestMbps).toFixed(2) : '–',
				setting.requests === undefined ? '–' : String(setting.requests),
				setting.unavailable === undefined ? '–' : String(setting.unavailable),
				setting.concurrency === undefined ? '–' : `${setting.concurrency} (${setting.maxConcurrency})`,
				setting.maxBufferedBytes === undefined ? '–' : (setting.maxBufferedBytes / MiB).toFixed(0),
				setting.hash,
			];
			lines.push(`| ${cells.join(' | ')} |`);
		});
	}
	lines.push('');
	for (const result of report.scenarios) {
		const ratio = result.autoOverBest === undefined ? 'n/a' : result.autoOverBest.toFixed(2);
		const link = result.ideal === undefined ? '' : `, ${(((result.settings.find((s) => s.label.startsWith('auto'))?.mbps ?? 0) * MB) / result.ideal).toFixed(2)} of the link`;
		lines.push(`- ${result.name} (${result.description}): auto / best fixed (${result.best ?? 'none'}) = ${ratio}${link}; asked: ${result.target}`);
	}
	return lines.join('\n');
}
