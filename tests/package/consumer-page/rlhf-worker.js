// The consumer page's module worker: the installed package's worker entry.
import 'tfjs-rlhf/worker';
