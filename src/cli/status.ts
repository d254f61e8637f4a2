/** The CLI's name, exit statuses and one-line messages, shared by `main.ts` and `download.ts`. */
import process from 'node:process';
import { synopsis } from './args.ts';

export const program = 'parallel-get-stream';

/** Exit statuses; interrupts add 130 (SIGINT) and 143 (SIGTERM). */
export const exitCode = { ok: 0, failed: 1, usage: 2 } as const;

export function say(line: string): void {
	process.stderr.write(`${program}: ${line}\n`);
}

export function usageError(message: string): number {
	say(message);
	process.stderr.write(`${synopsis}\nRun \`${program} --help\` for the options.\n`);
	return exitCode.usage;
}
