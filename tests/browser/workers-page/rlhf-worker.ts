// The page's module worker: the library's worker entry, bundled by Vite with the page's tfjs.
import 'tfjs-rlhf/worker';
