// Every test worker takes control at once: installed without waiting, and claiming the page that
// registered it, so that the page's next request goes through it.
export function claimAtOnce() {
	self.addEventListener('install', () => {
		self.skipWaiting();
	});
	self.addEventListener('activate', (event) => {
		event.waitUntil(self.clients.claim());
	});
}
