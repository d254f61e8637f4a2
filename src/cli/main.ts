/**
 * The CLI: arguments to a download, the download to a file or stdout, progress to stderr, and an
 * exit status. Only `node:` modules that Deno and Bun implement too.
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { parseArgs, usage, UsageError } from './args.ts';
import { exitCode, usageError } from './status.ts';

export { exitCode } from './status.ts';

function version(): string {
	// Read at run time: the package file sits outside the compiled tree (src/ -> dist/).
	const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
	return pkg.version ?? 'unknown';
}

/**
 * Runs the CLI with the arguments after the program name and resolves with the exit status.
 * Never rejects for a failed download: it prints one line saying why and resolves with 1.
 */
export async function main(argv: readonly string[]): Promise<number> {
	let command;
	try {
		command = parseArgs(argv);
	} catch (error) {
		if (error instanceof UsageError) return usageError(error.message);
		throw error;
	}
	if (command.command === 'help') {
		process.stdout.write(usage);
		return exitCode.ok;
	}
	if (command.command === 'version') {
		process.stdout.write(`${version()}\n`);
		return exitCode.ok;
	}
	// Loaded only for a download: `--version`, `--help` and usage errors start without the library.
	const { download } = await import('./download.ts');
	return download(command);
}
