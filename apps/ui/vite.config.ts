import { defineConfig } from 'vite';

// The dashboard is served by the API at /ui/ (apps/api/src/routes/ui.ts); everything it needs is in
// dist/ (no CDN at run time). JSX compiles to Preact's automatic runtime.
export default defineConfig({
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', modulePreload: { polyfill: false } },
  server: {
    // `npm run dev -w @celerity/ui` against an API on :3000
    proxy: Object.fromEntries(['/tasks', '/dead-letters', '/schedules', '/workers', '/queues', '/stats', '/health', '/ui/session'].map((p) => [p, 'http://127.0.0.1:3000'])),
  },
});
