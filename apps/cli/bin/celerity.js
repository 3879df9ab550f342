#!/usr/bin/env node
// The `celerity` command (npx celerity, node_modules/.bin/celerity). A file in git, executable, so
// npm can link it at install time, before the build has written dist/.
import('../dist/main.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js')) {
    process.stderr.write('celerity: not built yet: run `npm run build` (or `make build`) in the Celerity checkout first\n');
    process.exit(1);
  }
  throw err;
});
