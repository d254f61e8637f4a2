import type { ShapeOptions } from '../test/support/origin.ts';
import type { FaultPlan } from './faults.ts';
import type { ToolName } from './tools.ts';

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
/** Throughput is in MB/s (10^6 bytes), like the shaping rates. */
export const MB = 1e6;

/** Marks requests that are not part of a measurement (warm-up, probe): the origin does not count them. */
export const PROBE_HEADER = 'x-bench-probe';

export type ScenarioName = 'throttled' | 'loopback' | 'slow-consumer' | 'stragglers' | 'faulty';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['throttled', 'loopback', 'slow-consumer', 'stragglers', 'faulty'];

export interface Scenario {
	name: ScenarioName;
	/** One line saying what is measured. */
	description: string;
	size: number;
	shape: ShapeOptions | undefined;
	/** The origin's schedule of resets and 503s (faulty). */
	faults?: FaultPlan;
	concurrency: number;
	chunkSize: number;
	/** Bytes per second the consumer reads at most (slow-consumer). */
	consumerRate?: number;
	tools: ToolName[];
	/** Best possible throughput in bytes/s, where the scenario has one. */
	ideal?: number;
}

export interface ScenarioOverrides {
	size?: number;
	concurrency?: number;
	chunkSize?: number;
	/** Per-connection cap of the shaped scenarios, bytes/s. */
	rate?: number;
	ttfbMs?: number;
	consumerRate?: number;
	/** Seed of the faulty scenario's schedule. */
	seed?: number;
	tools?: ToolName[];
}

export const DEFAULTS = {
	concurrency: 8,
	chunkSize: 8 * MiB,
	rate: 20 * MB,
	ttfbMs: 20,
	consumerRate: 150 * MB,
	stragglers: { fraction: 0.1, stallMs: 3000, afterFraction: 0.5, seed: 1 },
	/**
	 * Resets and 503s, as in the field, at the concurrency and chunk size of issue 11's report.
	 * Seed 7 resets 5 of the first 25 responses, the first among them: the one every tool makes.
	 */
	faulty: { size: 64 * MiB, concurrency: 4, chunkSize: 4 * MiB, resetFraction: 0.2, unavailable: [2, 5], seed: 7 },
} as const;

export function scenario(name: ScenarioName, overrides: ScenarioOverrides = {}): Scenario {
	const concurrency = overrides.concurrency ?? DEFAULTS.concurrency;
	const chunkSize = overrides.chunkSize ?? DEFAULTS.chunkSize;
	const rate = overrides.rate ?? DEFAULTS.rate;
	const ttfbMs = overrides.ttfbMs ?? DEFAULTS.ttfbMs;
	const all: ToolName[] = ['library', 'fetch', 'curl', 'aria2', 'ipull'];
	const pick = (tools: ToolName[]): ToolName[] => (overrides.tools ? tools.filter((tool) => overrides.tools?.includes(tool)) : tools);
	const perConnection = `${rate / MB} MB/s per connection, TTFB ${ttfbMs} ms`;
	switch (name) {
		case 'throttled':
			return {
				name,
				description: `${perConnection}; ideal = concurrency x cap`,
				size: overrides.size ?? 256 * MiB,
				shape: { bytesPerSecond: rate, ttfbMs },
				concurrency,
				chunkSize,
				// `split`: what the connections carry with nothing to find out first (see client.ts).
				tools: pick([...all, 'split']),
				ideal: concurrency * rate,
			};
		case 'stragglers': {
			const { fraction, stallMs, afterFraction, seed } = DEFAULTS.stragglers;
			return {
				name,
				description: `${perConnection}, ${fraction * 100}% of responses stall ${stallMs / 1000} s mid-body`,
				size: overrides.size ?? 256 * MiB,
				shape: { bytesPerSecond: rate, ttfbMs, stragglers: { fraction, stallMs, afterFraction, seed } },
				concurrency,
				chunkSize,
				tools: pick(all),
				ideal: concurrency * rate,
			};
		}
		case 'faulty': {
			const { resetFraction, unavailable } = DEFAULTS.faulty;
			const seed = overrides.seed ?? DEFAULTS.faulty.seed;
			const c = overrides.concurrency ?? DEFAULTS.faulty.concurrency;
			return {
				name,
				description: `${perConnection}, ${resetFraction * 100}% of responses reset mid-body, GETs ${unavailable.join(' and ')} answered 503 (seed ${seed})`,
				size: overrides.size ?? DEFAULTS.faulty.size,
				shape: { bytesPerSecond: rate, ttfbMs },
				faults: { seed, resetFraction, unavailable: [...unavailable] },
				concurrency: c,
				chunkSize: overrides.chunkSize ?? DEFAULTS.faulty.chunkSize,
				tools: pick(all),
				ideal: c * rate,
			};
		}
		case 'loopback':
			return {
				name,
				description: 'no shaping; the cost per byte against one fetch() in the same runtime',
				size: overrides.size ?? GiB,
				shape: undefined,
				concurrency,
				chunkSize,
				tools: pick(all),
			};
		case 'slow-consumer': {
			const consumerRate = overrides.consumerRate ?? DEFAULTS.consumerRate;
			return {
				name,
				description: `no shaping; the consumer reads at most ${consumerRate / MB} MB/s; memory must stay bounded`,
				size: overrides.size ?? GiB,
				shape: undefined,
				concurrency,
				chunkSize,
				consumerRate,
				tools: pick(['library', 'fetch']),
				ideal: consumerRate,
			};
		}
	}
}

/** The documented read-ahead window: about 2 x concurrency x chunkSize bytes. */
export function memoryWindow(concurrency: number, chunkSize: number): number {
	return 2 * concurrency * chunkSize;
}
