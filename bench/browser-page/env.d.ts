// Types of Vite's `?url` imports and `import.meta.env` for the browser example.
/// <reference types="vite/client" />
