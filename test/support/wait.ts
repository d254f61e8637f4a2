/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `every` ms until it holds (true) or `ms` have passed (false). */
export async function waitFor(check: () => boolean, ms: number, every = 5): Promise<boolean> {
	const until = performance.now() + ms;
	while (!check()) {
		if (performance.now() > until) return false;
		await sleep(every);
	}
	return true;
}
