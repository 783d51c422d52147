// The page's module worker: tfjs-rlhf's worker entry, bundled by Vite with the page's own tfjs.
// main.ts hands it to setWorkerFactory; the trainers start one per extra core on a cross-origin
// isolated page (vite.config.ts sends the COOP/COEP headers that make it so).
import 'tfjs-rlhf/worker';
