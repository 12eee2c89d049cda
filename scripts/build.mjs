// `npm run build`: dist/ for production, plain node (no tsx loader).
// - dist/src, dist/commands: the bot, compiled file by file by tsc (`npm start`, the image's entrypoint);
//   the knowledge base's YAML copied beside it and also checked and parsed once into builtin.json.
// - dist/cli: the terminal command bundled by esbuild. `archshift check` loads ~640 modules otherwise, and
//   resolving and compiling them is most of its start-up; a subcommand's code is a chunk loaded when it runs.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const step = (what, fn) => {
  const t0 = performance.now();
  fn();
  console.log(`build: ${what} (${Math.round(performance.now() - t0)} ms)`);
};

rmSync('dist', { recursive: true, force: true });
step('tsc -> dist/src, dist/commands', () => execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' }));
for (const d of ['src', 'commands']) cpSync(d, `dist/${d}`, { recursive: true, filter: (f) => !f.endsWith('.ts') });
const knowledge = await import('../dist/src/readiness/knowledge/load.js');
step('knowledge base -> builtin.json', () => knowledge.compileBuiltinKnowledge());

/**
 * zod's namespace export carries its error messages in ~50 languages (a third of what the CLI would load
 * before its first request); archshift speaks English, so the bundle keeps zod's English ones only.
 */
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/') ? { path: args.resolveDir + '/../locales/en.js', namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: process.cwd(),
    }));
  },
};

const t0 = performance.now();
await build({
  entryPoints: { archshift: 'dist/src/cli.js' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // Less to parse at start-up; names are kept, so a bug's stack trace still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  // Loaded on first use, large, or native: they stay in node_modules.
  external: ['@kubernetes/client-node', '@aws-sdk/*', 'pg', '@resvg/resvg-js'],
  // Bundled CommonJS packages call require() for Node's own modules.
  banner: { js: "import { createRequire as __archshiftRequire } from 'node:module'; const require = __archshiftRequire(import.meta.url);" },
  // The chunks live in dist/cli, not beside the knowledge files: load.ts reads this instead of its own folder.
  define: { ARCHSHIFT_KNOWLEDGE_DIR: JSON.stringify('./knowledge/') },
  plugins: [englishOnlyZod],
});
cpSync('dist/src/readiness/knowledge', 'dist/cli/knowledge', { recursive: true, filter: (f) => !f.endsWith('.js') });
console.log(`build: esbuild -> dist/cli (${Math.round(performance.now() - t0)} ms)`);
