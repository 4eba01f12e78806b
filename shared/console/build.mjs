// Builds the admin console (console.html) and the API explorer (docs.html)
// with Vite, then writes every output file gzipped into dist/ (or --out DIR),
// which the Go package embeds. Gzip keeps the issue function's binary small;
// the Go handler serves the files decompressed.
//
// Layout of the output, as the routes serve it:
//   console.html.gz               GET /console
//   console/assets/<hashed>.gz    GET /console/assets/{file}
//   docs.html.gz                  GET /docs
//   docs/assets/<hashed>.gz       GET /docs/assets/{file}
import { mkdtemp, readdir, readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import { build } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? process.argv[outArg + 1] : join(root, 'dist');

const staging = await mkdtemp(join(tmpdir(), 'latchkey-console-'));
try {
  for (const page of ['console', 'docs']) {
    await build({
      configFile: false,
      root,
      // Relative URLs: the pages work under any API Gateway stage or base
      // path. /console loads ./console/assets/…, which resolves beside it.
      base: './',
      logLevel: 'warn',
      build: {
        outDir: staging,
        emptyOutDir: false,
        assetsDir: `${page}/assets`,
        // No data: URLs for our own files, and no inline code: the pages are
        // served with a CSP that allows neither.
        assetsInlineLimit: 0,
        modulePreload: { polyfill: false },
        sourcemap: false,
        target: 'es2022',
        chunkSizeWarningLimit: 2048,
        rollupOptions: { input: join(root, `${page}.html`) },
      },
    });
  }
  await rm(out, { recursive: true, force: true });
  for (const file of await walk(staging)) {
    const rel = relative(staging, file);
    const target = join(out, rel + '.gz');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, gzipSync(await readFile(file), { level: constants.Z_BEST_COMPRESSION }));
  }
} finally {
  await rm(staging, { recursive: true, force: true });
}

async function walk(dir) {
  const files = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await walk(p)));
    else files.push(p);
  }
  return files.sort();
}
