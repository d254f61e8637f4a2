import { type ChildProcess, fork } from 'node:child_process';
import type { ShapeOptions } from '../test/support/origin.ts';
import type { FaultPlan } from './faults.ts';
import type { OriginCommand, OriginStats } from './origin-process.ts';

export type { OriginStats };

/** Handle on the origin process. */
export interface BenchOrigin {
	readonly origin: string;
	readonly pid: number;
	/** Defines a generated object; resolves with its URL. */
	put(path: string, size: number, seed: number): Promise<string>;
	/** Sets the shaping (undefined = none) and restarts the straggler sequence. */
	shape(shape: ShapeOptions | undefined): Promise<void>;
	/** Sets (or clears) the fault schedule of the object at `path` and restarts its count. */
	faults(path: string, plan: FaultPlan | undefined): Promise<void>;
	/** Waits until no response is in flight, then clears the counters. */
	reset(): Promise<void>;
	stats(): Promise<OriginStats>;
	close(): Promise<void>;
}

export async function startOriginProcess(): Promise<BenchOrigin> {
	const child: ChildProcess = fork(new URL('./origin-process.ts', import.meta.url), [], {
		execArgv: [],
		stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
	});
	const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
	let nextId = 1;
	let exited = false;

	const origin = await new Promise<string>((resolve, reject) => {
		const onMessage = (message: { ready?: string }): void => {
			if (message.ready === undefined) return;
			child.off('message', onMessage);
			child.off('exit', onExit);
			resolve(message.ready);
		};
		const onExit = (code: number | null): void => reject(new Error(`the origin process exited (${code}) before it was ready`));
		child.on('message', onMessage);
		child.once('exit', onExit);
	});

	child.on('message', (raw) => {
		const message = raw as { id?: number; result?: unknown; error?: string };
		if (message.id === undefined) return;
		const waiter = pending.get(message.id);
		pending.delete(message.id);
		if (message.error === undefined) waiter?.resolve(message.result);
		else waiter?.reject(new Error(`origin: ${message.error}`));
	});
	child.once('exit', (code) => {
		exited = true;
		for (const waiter of pending.values()) waiter.reject(new Error(`the origin process exited (${code})`));
		pending.clear();
	});

	const call = (command: OriginCommand): Promise<unknown> =>
		new Promise((resolve, reject) => {
			if (exited) {
				reject(new Error('the origin process has exited'));
				return;
			}
			const id = nextId++;
			pending.set(id, { resolve, reject });
			child.send({ id, ...command });
		});

	return {
		origin,
		pid: child.pid ?? 0,
		put: async (path, size, seed) => (await call({ cmd: 'put', path, size, seed })) as string,
		shape: async (shape) => {
			await call({ cmd: 'shape', shape });
		},
		faults: async (path, plan) => {
			await call({ cmd: 'faults', path, plan });
		},
		reset: async () => {
			await call({ cmd: 'reset' });
		},
		stats: async () => (await call({ cmd: 'stats' })) as OriginStats,
		close: async () => {
			if (exited) return;
			const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
			await call({ cmd: 'close' }).catch(() => {});
			await gone;
		},
	};
}
