// Downloads a .gz over parallel range requests and decompresses it while it downloads: the
// library hands out the compressed bytes in order, DecompressionStream inflates them, and the
// text appears as it arrives. Memory stays bounded by the library's window, whatever the size.
import { ParallelGetStream } from 'parallel-get-stream';

const form = document.querySelector('#form');
const startButton = document.querySelector('#start');
const stopButton = document.querySelector('#stop');
const progress = document.querySelector('#progress');
const status = document.querySelector('#status');
const output = document.querySelector('#output');

for (const [name, value] of new URLSearchParams(location.search)) {
	if (form.elements[name]) form.elements[name].value = value;
}

function show(text, state) {
	status.textContent = text;
	status.dataset.state = state;
}

const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

let controller;

async function run() {
	controller = new AbortController();
	const download = new ParallelGetStream(form.elements.url.value, {
		concurrency: Number(form.elements.concurrency.value),
		chunkSize: Number(form.elements.chunkSize.value) * 1024,
		signal: controller.signal,
		onProgress({ loaded, total, inFlight }) {
			if (total) progress.value = loaded / total;
			show(`${mib(loaded)}${total ? ` of ${mib(total)}` : ''} downloaded, ${inFlight} requests in flight`, 'downloading');
		},
	});
	output.textContent = '';
	let characters = 0;
	const text = download.readable.pipeThrough(new DecompressionStream('gzip')).pipeThrough(new TextDecoderStream());
	const reader = text.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		output.append(value);
		characters += value.length;
	}
	const { size, mode } = await download.info;
	show(`Done: ${mib(size ?? download.stats.loaded)} downloaded (${mode}, ${download.stats.requests} requests), ${characters} characters of text.`, 'done');
}

form.addEventListener('submit', (event) => {
	event.preventDefault();
	startButton.disabled = true;
	stopButton.disabled = false;
	run()
		.catch((error) => show(`${error.name}: ${error.message}`, error.name === 'AbortError' ? 'stopped' : 'failed'))
		.finally(() => {
			startButton.disabled = false;
			stopButton.disabled = true;
		});
});

stopButton.addEventListener('click', () => controller?.abort());
