// Registers the service worker, then downloads a file with a plain fetch(): the worker turns it
// into parallel range requests. Shows progress and the SHA-256 of what arrived.
const form = document.querySelector('#form');
const button = form.querySelector('button');
const progress = document.querySelector('#progress');
const status = document.querySelector('#status');

function show(text, state) {
	status.textContent = text;
	status.dataset.state = state;
}

async function controlled() {
	await navigator.serviceWorker.register('./sw.bundle.js', { type: 'module' });
	// The worker claims this page when it activates (see sw.js).
	if (!navigator.serviceWorker.controller) {
		await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
	}
}

const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

async function download(path) {
	const started = performance.now();
	const response = await fetch(path);
	if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
	const total = Number(response.headers.get('content-length')) || undefined;
	const pieces = [];
	let loaded = 0;
	const reader = response.body.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		pieces.push(value);
		loaded += value.byteLength;
		if (total) progress.value = loaded / total;
		show(`${mib(loaded)}${total ? ` of ${mib(total)}` : ''}`, 'downloading');
	}
	const blob = new Blob(pieces, { type: response.headers.get('content-type') ?? 'application/octet-stream' });
	const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
	document.querySelector('#sha256').textContent = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
	const save = document.querySelector('#save');
	save.href = URL.createObjectURL(blob);
	save.download = path.split('/').pop();
	document.querySelector('#result').hidden = false;
	const seconds = (performance.now() - started) / 1000;
	show(`Done: ${mib(loaded)} in ${seconds.toFixed(1)} s`, 'done');
}

form.addEventListener('submit', (event) => {
	event.preventDefault();
	button.disabled = true;
	download(form.elements.path.value)
		.catch((error) => show(`Failed: ${error.message}`, 'failed'))
		.finally(() => {
			button.disabled = false;
		});
});

controlled().then(
	() => {
		button.disabled = false;
		show('Ready.', 'ready');
	},
	(error) => show(`Service worker not available: ${error.message}`, 'failed'),
);
