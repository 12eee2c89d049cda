// `npm run build`: dist/ for production, plain node (no tsx loader).
// - dist/src, dist/commands: the bot, compiled file by file by tsc (`npm start`, the image's entrypoint);
//   the knowledge base's YAML copied beside it and also checked and parsed once into builtin.json.
// - dist/cli: the terminal command bundled by esbuild into one CommonJS file (bundle.cjs; `archshift check`
//   loads ~640 modules otherwise, and resolving and compiling them is most of its start-up), its entry
//   (archshift.js) and a V8 code cache (bundle.cjs.v8cache) written by running a check once.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
const nearestTag = await import('../dist/src/images/nearest-tag.js');
step('knowledge base -> builtin.json, replaced-images.json', () => {
  knowledge.compileBuiltinKnowledge();
  nearestTag.compileReplacementTable();
});

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

// Loaded on first use, large, or native: they stay in node_modules.
const external = ['@kubernetes/client-node', '@aws-sdk/*', 'pg', '@resvg/resvg-js'];

/**
 * A vm script's import() finds no module loader once its code comes from the V8 cache, so the bundle's
 * import('<a package left in node_modules>') becomes __archshiftImport(...), the entry's own import()
 * (src/cli/code-cache.ts passes it in). Some of those packages are ES modules only: require() will not do.
 */
const externalImport = new RegExp(
  String.raw`\bimport\((['"](?:${external.map((e) => e.replace(/[/.]/g, '\\$&').replace('*', `[^'"]+`)).join('|')})['"])\)`,
  'g',
);
const importsThroughEntry = {
  name: 'imports-through-entry',
  setup(b) {
    b.onLoad({ filter: /\/dist\/src\/.*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(externalImport, '__archshiftImport($1)'),
      loader: 'js',
    }));
  },
};

const t0 = performance.now();
const bundled = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // Less to parse at start-up; names are kept, so a bug's stack trace still reads.
  minifyWhitespace: true,
  minifySyntax: true,
};
// One CommonJS file, so V8 can cache its compiled code (src/cli/code-cache.ts).
await build({
  ...bundled,
  entryPoints: ['dist/src/cli.js'],
  outfile: 'dist/cli/bundle.cjs',
  format: 'cjs',
  external,
  // import() of external packages is left as it is (and then rewritten by importsThroughEntry).
  supported: { 'dynamic-import': true },
  banner: { js: "const __archshiftModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // The knowledge files live in dist/cli/knowledge: load.ts reads this instead of its own folder.
  define: { ARCHSHIFT_KNOWLEDGE_DIR: JSON.stringify('./knowledge/'), 'import.meta.url': '__archshiftModuleUrl' },
  plugins: [englishOnlyZod, importsThroughEntry],
});
const left = readFileSync('dist/cli/bundle.cjs', 'utf8').match(/\bimport\(\s*["'`][^"'`]*/g);
if (left) throw new Error(`dist/cli/bundle.cjs still calls import() itself: ${left.join(', ')}`);
await build({ ...bundled, entryPoints: ['dist/src/cli/bundle-entry.js'], outfile: 'dist/cli/archshift.js', format: 'esm' });
cpSync('dist/src/readiness/knowledge', 'dist/cli/knowledge', { recursive: true, filter: (f) => !f.endsWith('.js') });
console.log(`build: esbuild -> dist/cli (${Math.round(performance.now() - t0)} ms)`);

const t1 = performance.now();
await trainCodeCache();
console.log(`build: code cache -> dist/cli/bundle.cjs.v8cache (${Math.round(performance.now() - t1)} ms)`);

/**
 * Runs `archshift check` once on a small service using most analysers, against a loopback registry that
 * knows no image, so the code cache holds what a check compiles (the rest still compiles when first used).
 */
async function trainCodeCache() {
  const dir = mkdtempSync(join(tmpdir(), 'archshift-train-'));
  const registry = createServer((req, res) => {
    res.writeHead(req.url === '/v2/' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/v2/' ? '{}' : '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
  });
  await new Promise((resolve) => registry.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${registry.address().port}`;
  try {
    const files = {
      'archshift.yml': `store:\n  file: ${join(dir, 'store.json')}\nregistry:\n  retries: 0\n`,
      'svc/Dockerfile': `FROM ${host}/build/jdk:21 AS build\nRUN ./gradlew build\nFROM ${host}/base/runtime:1.0\nCOPY --from=build /app /app\n`,
      'svc/deploy/deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc\nspec:\n  selector:\n    matchLabels: { app: svc }\n  template:\n    metadata:\n      labels: { app: svc }\n    spec:\n      nodeSelector:\n        kubernetes.io/arch: amd64\n      containers:\n        - name: svc\n          image: ${host}/team/svc:1.0\n`,
      'svc/pipeline.yml': 'mustBuildARM64: false\n',
      'svc/package.json': '{"name":"svc","dependencies":{"sharp":"0.32.0","bcrypt":"5.0.0"}}\n',
      'svc/requirements.txt': 'numpy==1.26.4\ngrpcio==1.60.0\n',
      'svc/pom.xml':
        '<project><dependencies><dependency><groupId>io.netty</groupId><artifactId>netty-transport-native-epoll</artifactId><version>4.1.100.Final</version></dependency></dependencies></project>\n',
      'svc/go.mod': 'module example.com/svc\n\ngo 1.22\n\nrequire github.com/mattn/go-sqlite3 v1.14.22\n',
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const env = { ...process.env, ARCHSHIFT_WRITE_CODE_CACHE: '1', LOG_LEVEL: 'silent', KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
    delete env.GITHUB_TOKEN;
    const child = spawn(process.execPath, ['dist/cli/archshift.js', 'check', join(dir, 'svc'), '--config', join(dir, 'archshift.yml')], {
      env,
      stdio: 'ignore',
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    // Exit 2 (unknown: the registry knows none of the images) is the expected answer.
    if (code !== 2 || !existsSync('dist/cli/bundle.cjs.v8cache')) throw new Error(`the code cache training run exited ${code}`);
  } finally {
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
