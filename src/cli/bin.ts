#!/usr/bin/env node
import process from 'node:process';
import { main } from './main.ts';

// No top-level await anywhere in the package (a module service worker importing it would fail
// to register), the bin included.
void main(process.argv.slice(2)).then((status) => {
	if (status > 128) {
		// Interrupted: the download is aborted and its .part removed; idle keep-alive sockets or a
		// stdout reader that stopped reading must not hold the exit up.
		process.exit(status);
	}
	process.exitCode = status;
});
