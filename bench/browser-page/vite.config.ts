// Vite config of the browser benchmark page (bench/browser.ts builds it); see the helper.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { libraryPageConfig } from '../../tests/helpers/vite-pages';

export default defineConfig(libraryPageConfig(fileURLToPath(new URL('.', import.meta.url)), 'bench-browser-page'));
