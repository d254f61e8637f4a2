/**
 * `parallel-get-stream/cli`: the command line as a module, to embed it in another tool or to
 * reuse its parsing. The `parallel-get-stream` bin is `main(process.argv.slice(2))`.
 */
export { main, exitCode } from './main.ts';
export { parseArgs, parseHeader, usage, synopsis, UsageError, type Command, type DownloadCommand } from './args.ts';
export { parseSize, SizeError } from './size.ts';
export { formatBytes, formatDuration, formatRate } from './format.ts';
