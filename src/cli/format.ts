/** Human-readable units for progress and summaries. Binary units, as the size options use. */

const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * @example
 * ```ts
 * formatBytes(512);        // '512 B'
 * formatBytes(8388608);    // '8.0 MiB'
 * ```
 */
export function formatBytes(bytes: number): string {
	if (bytes < 1024) return `${Math.max(0, Math.round(bytes))} B`;
	let value = bytes / 1024;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	// 1023.96 would print as "1024.0 KiB"; one unit up reads better.
	if (value >= 1023.95 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
	return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * Durations from a tenth of a second to days, to two units at most.
 *
 * @example
 * ```ts
 * formatDuration(1.25); // '1.3s'
 * formatDuration(65);   // '1m05s'
 * formatDuration(7322); // '2h02m'
 * ```
 */
export function formatDuration(seconds: number): string {
	if (!Number.isFinite(seconds) || seconds < 0) return '?';
	if (seconds < 10) return `${seconds.toFixed(1)}s`;
	const whole = Math.round(seconds);
	if (whole < 60) return `${whole}s`;
	const pad = (n: number): string => String(n).padStart(2, '0');
	if (whole < 3600) return `${Math.floor(whole / 60)}m${pad(whole % 60)}s`;
	if (whole < 86_400) return `${Math.floor(whole / 3600)}h${pad(Math.floor((whole % 3600) / 60))}m`;
	return `${Math.floor(whole / 86_400)}d${pad(Math.floor((whole % 86_400) / 3600))}h`;
}
