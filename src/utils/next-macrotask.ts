/**
 * A task after pending I/O: setImmediate in Node, Deno and Bun; a message in browsers, whose
 * nested setTimeout(0) is clamped to 4 ms. The channel is closed at once, so it keeps nothing alive.
 */
export function nextMacrotask(callback: () => void): void {
	const { setImmediate } = globalThis as { setImmediate?: (callback: () => void) => unknown };
	if (typeof setImmediate === 'function') {
		setImmediate(callback);
		return;
	}
	if (typeof MessageChannel !== 'function') {
		setTimeout(callback, 0);
		return;
	}
	const { port1, port2 } = new MessageChannel();
	port1.onmessage = () => {
		port1.close();
		callback();
	};
	port2.postMessage(undefined);
}
