#!/usr/bin/env node
import process from 'node:process';
import { main } from './main.ts';

const status = await main(process.argv.slice(2));
if (status > 128) {
	// Interrupted: the download is aborted and its .part removed; idle keep-alive sockets or a
	// stdout reader that stopped reading must not hold the exit up.
	process.exit(status);
}
process.exitCode = status;
