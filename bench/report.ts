import type { BenchReport, Machine, ScenarioResult, SweepReport, ToolSummary } from './harness.ts';
import { MB } from './scenarios.ts';

const MiB = 2 ** 20;

export function formatBytes(bytes: number): string {
	if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
	if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
	if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
	return `${bytes} B`;
}

function fixed(value: number | undefined, digits: number): string {
	return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
	const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
	const line = (row: string[]): string =>
		row
			.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
			.join('  ')
			.trimEnd();
	return [line(header), ...rows.map(line)].join('\n');
}

function rssMiB(summary: ToolSummary): [string, string] {
	return [fixed(summary.peakRssBytes === undefined ? undefined : summary.peakRssBytes / MiB, 0), fixed(summary.rssOverIdleBytes === undefined ? undefined : summary.rssOverIdleBytes / MiB, 0)];
}

export function formatScenario(result: ScenarioResult, runs: number): string {
	const { scenario, summary, window } = result;
	const library = summary.find((entry) => entry.tool === 'library');
	const ideal = scenario.ideal === undefined ? undefined : scenario.ideal / MB;
	const faulty = scenario.faults !== undefined;
	const header = ['tool', 'MB/s', '/ ideal', 'library / tool', 'TTFB ms', 'warm TTFB', 'peak RSS MiB', 'over idle MiB', 'requests', faulty ? 'reset/503' : 'stalled', 'sha256'];
	const rows = summary.map((entry) => {
		const [peak, over] = rssMiB(entry);
		const faults = entry.resets === undefined ? '-' : `${fixed(entry.resets, 0)}/${fixed(entry.unavailable, 0)}`;
		return [
			entry.label,
			fixed(entry.mbps, 1),
			fixed(ideal === undefined || entry.mbps === undefined ? undefined : entry.mbps / ideal, 2),
			fixed(library?.mbps === undefined || entry.mbps === undefined ? undefined : library.mbps / entry.mbps, 2),
			fixed(entry.ttfbMs, 1),
			fixed(entry.warmTtfbMs, 1),
			peak,
			over,
			fixed(entry.requests, 0),
			faulty ? faults : fixed(entry.stragglers, 0),
			entry.failures > 0 ? `${entry.hash} (${entry.failures}/${entry.runs} failed)` : entry.hash,
		];
	});
	const lines = [
		`== ${scenario.name}: ${formatBytes(scenario.size)}, ${scenario.description}`,
		`   concurrency ${scenario.concurrency}, chunkSize ${formatBytes(scenario.chunkSize)}, window 2 x ${scenario.concurrency} x ${formatBytes(scenario.chunkSize)} = ${formatBytes(window)}` +
			`${ideal === undefined ? '' : `, ideal ${fixed(ideal, 0)} MB/s`}; ${runs > 1 ? `median of ${runs} runs` : '1 run'}`,
		table(header, rows),
	];
	if (library?.maxBufferedBytes !== undefined) {
		const hedges =
			(library.hedges === undefined ? '' : `; hedges ${fixed(library.hedges, 0)} (${fixed(library.hedgesWon, 0)} won)`) +
			(library.steals === undefined ? '' : `; tails stolen ${fixed(library.steals, 0)}`);
		lines.push(
			`   library: buffered at most ${fixed(library.maxBufferedBytes / MiB, 1)} MiB (its own count); worst RSS over idle ${fixed((library.maxRssOverIdleBytes ?? 0) / MiB, 0)} MiB${hedges}`,
		);
	}
	const fetchCpu = summary.find((entry) => entry.tool === 'fetch')?.cpuMs;
	if (library?.cpuMs !== undefined && fetchCpu !== undefined) {
		lines.push(
			`   CPU of the client process (user + system): library ${fixed(library.cpuMs / 1000, 2)} s, fetch() ${fixed(fetchCpu / 1000, 2)} s = ${fixed(library.cpuMs / fetchCpu, 2)} x`,
		);
	}
	for (const entry of summary) for (const error of new Set(entry.errors)) lines.push(`   ${entry.label}: ${error}`);
	for (const item of result.checks) {
		const verdict = item.met === undefined ? 'n/a ' : item.met ? 'met ' : 'SHORT';
		lines.push(`   [${verdict}] ${item.what} = ${fixed(item.value, 2)} (target: ${item.detail})`);
	}
	return lines.join('\n');
}

function describeMachine(machine: Machine): string {
	const text = `machine: ${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}, ${machine.platform}`;
	// Reports saved before the load was recorded have none.
	const load = machine.load as Machine['load'] | undefined;
	return load ? `${text}; load average ${load[0].toFixed(1)} at start, ${load[1].toFixed(1)} at end` : text;
}

export function formatReport(report: BenchReport): string {
	return [
		`${describeMachine(report.machine)}; origin in its own process`,
		...report.scenarios.map((result) => formatScenario(result, report.runs)),
	].join('\n\n');
}

export function formatSweep(report: SweepReport): string {
	const blocks = [`${describeMachine(report.machine)}; ${report.runs > 1 ? `median of ${report.runs} runs` : '1 run'} per cell`];
	for (const name of ['throttled', 'loopback'] as const) {
		const rows = report.rows.filter((row) => row.scenario === name);
		if (rows.length === 0) continue;
		const ratioHeader = name === 'throttled' ? '/ ideal' : '/ fetch';
		const body = rows.map((row) => [
			row.tool === 'library' ? 'parallel-get-stream' : row.tool === 'aria2' ? `aria2c -x${Math.min(16, row.concurrency)}` : 'fetch() (1 conn)',
			row.tool === 'fetch' ? '1' : String(row.concurrency),
			row.tool === 'library' ? formatBytes(row.chunkSize) : '-',
			fixed(row.mbps, 1),
			fixed(row.ratio, 2),
			fixed(row.peakRssBytes === undefined ? undefined : row.peakRssBytes / MiB, 0),
			fixed(row.rssOverIdleBytes === undefined ? undefined : row.rssOverIdleBytes / MiB, 0),
			row.hash,
		]);
		blocks.push(
			`== sweep ${name}: ${formatBytes(report.sizes[name])}${name === 'throttled' ? ', ideal = concurrency x per-connection cap' : ''}\n` +
				table(['tool', 'concurrency', 'chunkSize', 'MB/s', ratioHeader, 'peak RSS MiB', 'over idle MiB', 'sha256'], body),
		);
	}
	return blocks.join('\n\n');
}
