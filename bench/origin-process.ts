/**
 * The benchmark's origin, run in a process of its own (forked by `origin.ts`) so that serving and
 * shaping never share an event loop or a core with the client being measured. Controlled over
 * the IPC channel: one request message, one reply with the same `id`.
 */
import { startOrigin, type ShapeOptions } from '../test/support/origin.ts';
import { type FaultPlan, faultRule } from './faults.ts';
import { PROBE_HEADER } from './scenarios.ts';

export type OriginCommand =
	| { cmd: 'put'; path: string; size: number; seed: number }
	| { cmd: 'shape'; shape: ShapeOptions | undefined }
	| { cmd: 'faults'; path: string; plan: FaultPlan | undefined }
	| { cmd: 'stats' }
	| { cmd: 'reset' }
	| { cmd: 'close' };

export interface OriginStats {
	/** GET requests for objects since the last reset. */
	gets: number;
	/** Of those, responses chosen to stall by the straggler shaping. */
	stragglers: number;
	/** Responses the client closed before their end (cancelled or superseded requests). */
	aborted: number;
	/** Responses the origin reset mid-body on purpose, and answered 503 (faulty). */
	resets: number;
	unavailable: number;
	bytesSent: number;
	maxInFlight: number;
}

if (!process.send) throw new Error('origin-process.ts must be started with an IPC channel (child_process.fork)');
const send = process.send.bind(process);

const origin = await startOrigin();

async function handle(message: OriginCommand): Promise<unknown> {
	switch (message.cmd) {
		case 'put':
			origin.put(message.path, { size: message.size, seed: message.seed });
			return origin.url(message.path);
		case 'shape':
			// Also restarts the straggler sequence: every client sees the same responses stall.
			origin.shape(message.shape);
			return undefined;
		case 'reset':
			await origin.whenIdle(10_000).catch(() => {});
			origin.resetStats();
			return undefined;
		case 'faults': {
			// Also restarts the schedule's count of GETs: every run meets the same faults.
			const object = origin.get(message.path);
			if (object === undefined) throw new Error(`no object at ${message.path}`);
			origin.fault(message.path, message.plan === undefined ? undefined : faultRule(message.plan, object.size, PROBE_HEADER));
			return undefined;
		}
		case 'stats': {
			const gets = origin.requests.filter((record) => record.method === 'GET' && record.count > 0 && record.headers[PROBE_HEADER] === undefined);
			const stats: OriginStats = {
				gets: gets.length,
				stragglers: gets.filter((record) => record.straggler === true).length,
				aborted: gets.filter((record) => record.aborted).length,
				resets: gets.filter((record) => record.reset).length,
				unavailable: gets.filter((record) => record.status === 503).length,
				bytesSent: origin.bytesSent,
				maxInFlight: origin.maxInFlight,
			};
			return stats;
		}
		case 'close':
			await origin.close();
			setImmediate(() => process.exit(0));
			return undefined;
	}
}

process.on('message', (raw) => {
	const { id, ...message } = raw as OriginCommand & { id: number };
	handle(message as OriginCommand).then(
		(result) => send({ id, result }),
		(error: unknown) => send({ id, error: String(error) }),
	);
});
// The parent went away without closing us: do not linger.
process.on('disconnect', () => {
	void origin.close().finally(() => process.exit(0));
});

send({ ready: origin.origin });
