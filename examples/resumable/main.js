// Downloads a file over parallel range requests into the Origin Private File System, and keeps a
// checkpoint beside it, so that after a reload (or a closed tab, or a crash) the download goes on
// where it stopped instead of starting again. The checkpoint pins the revision: if the file
// changed on the server meanwhile, the library fails with RevisionChangedError before a byte of
// the new revision is written.
//
// A FileSystemWritableFileStream writes into a temporary copy that replaces the file only when it
// is closed: whatever was written since the last close() is lost with the page. So the bytes are
// saved in parts: the stream is closed every `commit` KiB (the data is in the file), then the
// checkpoint is saved with that offset (never ahead of the data), then a new stream is opened with
// `keepExistingData: true` to go on. Chromium copies the file for each new stream, so a large file
// wants a large `commit`; a dedicated worker can use createSyncAccessHandle() and flush() instead.
//
// With a digest to verify (the `integrity` field, or a digest the server declares), the checkpoint
// carries the hash of the bytes before its offset, so that the continued download verifies the
// whole file. That hash describes exactly the bytes handed out: it is kept only when the offset
// saved is the checkpoint's own. A file whose bytes fail verification is removed with its
// checkpoint, never continued.
import { isIntegrityError, isRevisionChangedError, ParallelGetStream } from 'parallel-get-stream';

const form = document.querySelector('#form');
const startButton = document.querySelector('#start');
const stopButton = document.querySelector('#stop');
const restartButton = document.querySelector('#restart');
const progress = document.querySelector('#progress');
const status = document.querySelector('#status');
const save = document.querySelector('#save');

for (const [name, value] of new URLSearchParams(location.search)) {
	if (form.elements[name]) form.elements[name].value = value;
}

/** Shows a line; `saved` is the bytes the checkpoint covers, for whoever watches the page. */
function show(text, state, saved) {
	status.textContent = text;
	status.dataset.state = state;
	if (saved !== undefined) status.dataset.saved = String(saved);
}

const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** The file and its checkpoint in the origin's private file system, named after the URL's last segment. */
async function files(url) {
	const root = await navigator.storage.getDirectory();
	const directory = await root.getDirectoryHandle('downloads', { create: true });
	const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'download').replace(/[^\w.-]/g, '_');
	return {
		name,
		directory,
		data: await directory.getFileHandle(name, { create: true }),
		checkpoint: await directory.getFileHandle(`${name}.checkpoint.json`, { create: true }),
	};
}

async function readCheckpoint(handle) {
	const text = await (await handle.getFile()).text();
	return text ? JSON.parse(text) : undefined;
}

async function writeCheckpoint(handle, checkpoint) {
	const writable = await handle.createWritable();
	await writable.write(JSON.stringify(checkpoint));
	await writable.close();
}

let controller;

async function run() {
	controller = new AbortController();
	const url = form.elements.url.value;
	const commitBytes = Number(form.elements.commit.value) * 1024;
	const { name, data, checkpoint: checkpointFile } = await files(url);
	// The checkpoint of this URL, if there is one: the download goes on from there.
	let resume = await readCheckpoint(checkpointFile);
	if (resume && resume.url !== url) resume = undefined;
	const integrity = form.elements.integrity.value.trim();
	const download = new ParallelGetStream(url, {
		...(integrity ? { integrity } : {}),
		concurrency: Number(form.elements.concurrency.value),
		chunkSize: Number(form.elements.chunkSize.value) * 1024,
		signal: controller.signal,
		...(resume ? { resume } : {}),
		onProgress({ loaded, total, inFlight }) {
			// `loaded` goes on from the checkpoint: it counts the whole file's bytes.
			if (total) progress.value = loaded / total;
			show(`${mib(loaded)}${total ? ` of ${mib(total)}` : ''}${resume ? `, resumed at ${mib(resume.offset)}` : ''}, ${inFlight} requests in flight`, 'downloading');
		},
	});
	const info = await download.info;
	let committed = resume?.offset ?? 0;
	// Bytes beyond the checkpoint (saved, but not yet claimed by it) are cut off.
	let writable = await data.createWritable({ keepExistingData: resume !== undefined });
	await writable.truncate(committed);
	await writable.seek(committed);
	// The checkpoint of the bytes saved: its hash only where it describes exactly those bytes.
	const saving = (offset) => {
		const checkpoint = download.checkpoint();
		if (!checkpoint) return undefined;
		const { hash, ...rest } = checkpoint;
		return hash?.length === offset ? { ...rest, offset, hash } : { ...rest, offset };
	};
	if (saving(committed)) await writeCheckpoint(checkpointFile, saving(committed));
	let written = committed;
	const commit = async () => {
		await writable.close();
		committed = written;
		const checkpoint = saving(committed);
		if (checkpoint) await writeCheckpoint(checkpointFile, checkpoint);
		status.dataset.saved = String(committed);
	};
	try {
		const reader = download.readable.getReader();
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			await writable.write(value);
			written += value.byteLength;
			if (written - committed >= commitBytes) {
				await commit();
				writable = await data.createWritable({ keepExistingData: true });
				await writable.seek(committed);
			}
		}
		await commit();
	} catch (error) {
		// What was written since the last checkpoint is given up, so that the file and its
		// checkpoint agree.
		await writable.abort().catch(() => {});
		throw error;
	}
	const file = await data.getFile();
	save.href = URL.createObjectURL(file);
	save.download = name;
	save.hidden = false;
	const verified = info.digest ? `, ${info.digest.algorithm} verified` : '';
	show(`Done: ${mib(file.size)} saved as ${name} (${info.mode}${resume ? `, resumed at ${mib(resume.offset)}` : ''}${verified}, ${download.stats.requests} requests).`, 'done', file.size);
}

/** On load: say whether a download of this URL can be continued. */
async function describeSaved() {
	if (!form.elements.url.value) return;
	const { checkpoint } = await files(form.elements.url.value);
	const saved = await readCheckpoint(checkpoint);
	if (!saved || saved.url !== form.elements.url.value) return;
	const complete = saved.offset === saved.size;
	startButton.textContent = complete ? 'Download' : 'Continue';
	show(complete ? `Already downloaded (${mib(saved.size)}).` : `${mib(saved.offset)} of ${mib(saved.size)} saved: Continue goes on from there.`, complete ? 'done' : 'resumable', saved.offset);
}

form.addEventListener('submit', (event) => {
	event.preventDefault();
	startButton.disabled = true;
	stopButton.disabled = false;
	save.hidden = true;
	run()
		.catch((error) => {
			if (isIntegrityError(error)) {
				// Bytes that failed verification are never kept for a later Continue.
				return removeSaved().then(() => show(`The file failed verification (${error.algorithm}: expected ${error.expected}, got ${error.actual}) and was removed.`, 'corrupt', 0));
			}
			if (isRevisionChangedError(error)) show('The file changed on the server since this download started: Start over to download the new one.', 'changed');
			else show(`${error.name}: ${error.message}`, error.name === 'AbortError' ? 'stopped' : 'failed');
		})
		.finally(() => {
			startButton.disabled = false;
			stopButton.disabled = true;
		});
});

stopButton.addEventListener('click', () => controller?.abort());

async function removeSaved() {
	const { name, directory } = await files(form.elements.url.value);
	await directory.removeEntry(name).catch(() => {});
	await directory.removeEntry(`${name}.checkpoint.json`).catch(() => {});
}

restartButton.addEventListener('click', async () => {
	controller?.abort();
	await removeSaved();
	startButton.textContent = 'Download';
	progress.value = 0;
	show('Removed: the next download starts from the beginning.', 'idle', 0);
});

describeSaved().catch((error) => show(`${error.name}: ${error.message}`, 'failed'));
