/** A value as an option's error message quotes it: `` `"x"` (string) ``, `` `null` ``, `` `[object Array]` (object) ``. */
export function describeValue(value: unknown): string {
	if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
	if (typeof value === 'object') return value === null ? '`null`' : `\`${Object.prototype.toString.call(value)}\` (object)`;
	return `\`${String(value)}\` (${typeof value})`;
}
