// Vite config of the workers test page (tests/browser/workers.test.ts builds it); see the helper.
// Unminified: the page opts into tfjs-backend-wasm's threaded build, which breaks when minified.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { libraryPageConfig } from '../../helpers/vite-pages';

export default defineConfig(libraryPageConfig(fileURLToPath(new URL('.', import.meta.url)), 'tests-workers-page'));
