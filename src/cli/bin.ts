#!/usr/bin/env node
import module from 'node:module';
import process from 'node:process';

// Start-up is half of a small file's download: Node keeps the compiled code of the modules below
// on disk for the next run (where the runtime offers it; NODE_DISABLE_COMPILE_CACHE turns it
// off). Enabled before they load, hence the dynamic import. No top-level await anywhere in the
// package (a module service worker importing it would fail to register), the bin included.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
void import('./main.ts').then(async ({ main }) => {
	const status = await main(process.argv.slice(2));
	if (status > 128) {
		// Interrupted: the download is aborted and its .part removed; idle keep-alive sockets or a
		// stdout reader that stopped reading must not hold the exit up.
		process.exit(status);
	}
	process.exitCode = status;
});
