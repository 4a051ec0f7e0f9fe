// Builds the console into dist/: one minified script (ECharts and the signing libraries bundled
// in, so the node serves everything itself), the stylesheet and the page. `node/build.rs` embeds
// dist/ into the node binary.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  outfile: 'dist/app.js',
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync('src/index.html', 'dist/index.html');
copyFileSync('src/app.css', 'dist/app.css');
copyFileSync('src/favicon.svg', 'dist/favicon.svg');
