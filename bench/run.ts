/**
 * npm run bench [-- options]: see `--help`.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type AdaptiveReport, formatAdaptive, runAdaptive } from './adaptive.ts';
import { type BenchReport, runBench, runSweep, type SweepReport } from './harness.ts';
import { formatReport, formatSweep } from './report.ts';
import { MB, MiB, SCENARIO_NAMES, type ScenarioName, type ScenarioOverrides, scenario } from './scenarios.ts';
import { parseSize as parseBytes } from '../src/cli/size.ts';
import { TOOL_NAMES, type ToolName } from './tools.ts';

const HELP = `Usage: npm run bench -- [options]

Runs the scenarios side by side (an origin in its own process, every client run in a
process of its own) and prints MB/s, time to first byte, peak RSS and ratios.

Scenarios: ${SCENARIO_NAMES.join(', ')} (default: all)

Options:
  --scenario <name>       only this scenario (repeat, or a comma-separated list)
  --size <size>           object size, e.g. 64MiB, 1GiB (default per scenario)
  --runs <n>              runs per tool; the median is reported (default 3)
  --concurrency <n>       library concurrency, aria2c -x/-s, ipull's parallel streams
                          (default 8; faulty: 4)
  --chunk-size <size>     library chunkSize (default 8MiB; faulty: 4MiB)
  --rate <MB/s>           per-connection cap of throttled/stragglers/faulty (default 20)
  --ttfb <ms>             added time to first byte of throttled/stragglers/faulty (default 20)
  --consumer-rate <MB/s>  pace of the slow consumer (default 150)
  --seed <n>              seed of the faulty scenario's resets (default 7)
  --tools <list>          among ${TOOL_NAMES.join(',')} (default: all that apply)
  --json                  print the results as JSON (progress still goes to stderr)
  --quiet                 no progress lines
  --integrity             the library verifies the object's sha256 (its \`integrity\` option)
  --cpu-prof <dir>        run the Node clients with --cpu-prof, profiles written to <dir>
  --render <file>         print the tables of a report saved with --json, run nothing
  --sweep                 concurrency x chunkSize grid on throttled and loopback
  --adaptive              concurrency 'auto' against fixed settings: throttled, shared-link,
                          slow-connections, connection-limit, stragglers, faulty (--scenario
                          picks among them; --size and --runs apply)
  --sweep-concurrency <list>  default 4,6,8,16
  --sweep-chunk-size <list>   default 1MiB,4MiB,8MiB,16MiB
  --help

Sizes: a number of bytes with an optional unit: KiB, MiB, GiB (also k, M, G), powers of 1024.
MB/s are 10^6 bytes per second.`;

/** Sizes as the CLI reads them (powers of 1024 whatever the spelling), and at least one byte. */
export function parseSize(name: string, text: string): number {
	let value: number;
	try {
		value = parseBytes(text);
	} catch (error) {
		throw new RangeError(`Expected \`--${name}\` to be a size such as 64MiB: ${(error as Error).message}`, { cause: error });
	}
	if (value < 1) throw new RangeError(`Expected \`--${name}\` to be a size such as 64MiB, got \`${text}\``);
	return value;
}

function parsePositive(name: string, text: string, integer: boolean): number {
	const value = Number(text);
	if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
		throw new RangeError(`Expected \`--${name}\` to be a ${integer ? 'positive integer' : 'positive number'}, got \`${text}\``);
	}
	return value;
}

function list(values: string[] | undefined): string[] {
	return (values ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			scenario: { type: 'string', multiple: true },
			size: { type: 'string' },
			runs: { type: 'string' },
			concurrency: { type: 'string' },
			'chunk-size': { type: 'string' },
			rate: { type: 'string' },
			ttfb: { type: 'string' },
			'consumer-rate': { type: 'string' },
			seed: { type: 'string' },
			tools: { type: 'string', multiple: true },
			json: { type: 'boolean' },
			quiet: { type: 'boolean' },
			'cpu-prof': { type: 'string' },
			integrity: { type: 'boolean' },
			render: { type: 'string' },
			sweep: { type: 'boolean' },
			adaptive: { type: 'boolean' },
			'sweep-concurrency': { type: 'string', multiple: true },
			'sweep-chunk-size': { type: 'string', multiple: true },
			help: { type: 'boolean' },
		},
		allowPositionals: false,
	});
	if (values.help) {
		console.log(HELP);
		return;
	}
	if (values.render !== undefined) {
		const saved = JSON.parse(await readFile(values.render, 'utf8')) as BenchReport | SweepReport | AdaptiveReport;
		if ('rows' in saved) console.log(formatSweep(saved));
		else if (saved.scenarios.some((result) => 'settings' in result)) console.log(formatAdaptive(saved as AdaptiveReport));
		else console.log(formatReport(saved as BenchReport));
		return;
	}
	const log = values.quiet ? () => {} : (line: string) => console.error(line);
	const runs = values.runs === undefined ? 3 : parsePositive('runs', values.runs, true);
	const overrides: ScenarioOverrides = {};
	if (values.size !== undefined) overrides.size = parseSize('size', values.size);
	if (values.concurrency !== undefined) overrides.concurrency = parsePositive('concurrency', values.concurrency, true);
	if (values['chunk-size'] !== undefined) overrides.chunkSize = parseSize('chunk-size', values['chunk-size']);
	if (values.rate !== undefined) overrides.rate = parsePositive('rate', values.rate, false) * MB;
	if (values.ttfb !== undefined) overrides.ttfbMs = Number(values.ttfb);
	if (values['consumer-rate'] !== undefined) overrides.consumerRate = parsePositive('consumer-rate', values['consumer-rate'], false) * MB;
	if (values.seed !== undefined) {
		const seed = Number(values.seed);
		if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`Expected \`--seed\` to be an integer >= 0, got \`${values.seed}\``);
		overrides.seed = seed;
	}
	if (values.tools !== undefined) {
		const tools = list(values.tools);
		for (const tool of tools) {
			if (!TOOL_NAMES.includes(tool as ToolName)) throw new RangeError(`Expected \`--tools\` among ${TOOL_NAMES.join(', ')}, got \`${tool}\``);
		}
		overrides.tools = tools as ToolName[];
	}

	if (values.adaptive) {
		const only = list(values.scenario);
		const report = await runAdaptive({ runs, log, ...(overrides.size === undefined ? {} : { size: overrides.size }), ...(only.length > 0 ? { only } : {}) });
		console.log(values.json ? JSON.stringify(report, null, 2) : formatAdaptive(report));
		return;
	}

	if (values.sweep) {
		const concurrencies = list(values['sweep-concurrency']).map((text) => parsePositive('sweep-concurrency', text, true));
		const chunkSizes = list(values['sweep-chunk-size']).map((text) => parseSize('sweep-chunk-size', text));
		const report = await runSweep(
			{
				concurrencies: concurrencies.length > 0 ? concurrencies : [4, 6, 8, 16],
				chunkSizes: chunkSizes.length > 0 ? chunkSizes : [1, 4, 8, 16].map((n) => n * MiB),
				runs: values.runs === undefined ? 1 : runs,
				throttled: scenario('throttled', { ...overrides, size: overrides.size ?? 256 * MiB }),
				loopback: scenario('loopback', { ...overrides, size: overrides.size ?? 512 * MiB }),
			},
			log,
		);
		console.log(values.json ? JSON.stringify(report, null, 2) : formatSweep(report));
		return;
	}

	const names = list(values.scenario);
	for (const name of names) {
		if (!SCENARIO_NAMES.includes(name as ScenarioName)) throw new RangeError(`Expected \`--scenario\` among ${SCENARIO_NAMES.join(', ')}, got \`${name}\``);
	}
	const selected = (names.length > 0 ? names : SCENARIO_NAMES) as ScenarioName[];
	const cpuProf = values['cpu-prof'];
	const report = await runBench(
		selected.map((name) => scenario(name, overrides)),
		{
			runs,
			log,
			...(cpuProf === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${resolve(cpuProf)}`] }),
			...(values.integrity ? { integrity: true } : {}),
		},
	);
	console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
	const mismatch = report.scenarios.some((result) => result.summary.some((entry) => entry.hash === 'mismatch'));
	if (mismatch) process.exitCode = 1;
}

try {
	await main();
} catch (error) {
	console.error(error instanceof Error ? error.message : error);
	process.exitCode = 2;
}
