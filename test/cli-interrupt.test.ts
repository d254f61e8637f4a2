/**
 * The CLI's signal handling, in process: the first Ctrl-C (or SIGTERM) aborts the download and
 * leaves the exit to the cleanup; a second one exits at once, with the first one's status.
 */
import process from 'node:process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Interrupt, InterruptedError, interruptExitCode } from '../src/cli/interrupt.ts';

afterEach(() => {
	vi.restoreAllMocks();
});

describe('Interrupt', () => {
	it.each([
		['SIGINT', 'SIGINT', 130],
		['SIGTERM', 'SIGINT', 143],
		['SIGINT', 'SIGTERM', 130],
	] as const)('%s aborts the download; a second signal (%s) exits at once with %d', (first, second, status) => {
		const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
		const interrupt = new Interrupt();
		try {
			process.emit(first);
			expect(interrupt.received).toBe(first);
			expect(interrupt.signal.aborted).toBe(true);
			expect(interrupt.signal.reason).toBeInstanceOf(InterruptedError);
			expect(interrupt.signal.reason).toMatchObject({ name: 'InterruptedError', signal: first, message: `interrupted by ${first}` });
			expect(exit).not.toHaveBeenCalled();
			process.emit(second);
			expect(exit).toHaveBeenCalledTimes(1);
			expect(exit).toHaveBeenCalledWith(status);
			expect(interruptExitCode[first]).toBe(status);
		} finally {
			interrupt.dispose();
		}
	});

	it('stops listening once disposed', () => {
		const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
		const interrupt = new Interrupt();
		expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
		expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
		interrupt.dispose();
		expect(process.listenerCount('SIGINT')).toBe(before.int);
		expect(process.listenerCount('SIGTERM')).toBe(before.term);
	});
});
