// Entry of an eval worker thread: worker threads do not inherit the main thread's loader hooks,
// so this registers tsx again before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./eval-worker.ts');
