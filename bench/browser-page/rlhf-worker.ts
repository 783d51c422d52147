// The benchmark page's module worker: tfjs-rlhf's worker entry, bundled with the page's tfjs.
import 'tfjs-rlhf/worker';
