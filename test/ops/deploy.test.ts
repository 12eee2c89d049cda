// What ships besides deploy/ (tested in test/deploy/): the Dockerfile and the Slack app manifest.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import { parse } from 'yaml';
import { subcommands } from '../../commands/index.ts';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

describe('Dockerfile', () => {
  const df = DockerfileParser.parse(read('Dockerfile'));
  const froms = df.getFROMs();

  test('multi-stage: dependencies installed on the build platform for the target arch; a distroless runtime', () => {
    assert.ok(froms.length >= 2);
    const deps = froms.find((f) => f.getBuildStage() === 'deps')!;
    assert.equal(deps.getPlatformFlag()?.getValue(), '$BUILDPLATFORM');
    const runtime = froms.at(-1)!;
    assert.equal(runtime.getPlatformFlag(), null, 'the runtime stage takes the target platform');
    assert.match(runtime.getImage() ?? '', /^gcr\.io\/distroless\/nodejs20-debian12:nonroot$/);
    const text = read('Dockerfile');
    assert.match(text, /ARG TARGETARCH/);
    assert.match(text, /npm ci --omit=dev[^\n]*--cpu=/);
    for (const f of froms) assert.ok(f.getImageTag() !== 'latest', 'no latest tags');
  });

  test('the runtime runs as a non-root user and copies only sources that exist', () => {
    const lastStageLine = froms.at(-1)!.getRange().start.line;
    const user = df
      .getInstructions()
      .filter((i) => i.getKeyword() === 'USER' && i.getRange().start.line > lastStageLine)
      .at(-1);
    assert.ok(user, 'a USER in the runtime stage');
    assert.doesNotMatch(user.getArgumentsContent()!, /^(root|0)(:|$)/);
    for (const copy of df.getCOPYs().filter((c) => !c.getFromFlag())) {
      const args = copy.getArguments().map((a) => a.getValue());
      for (const src of args.slice(0, -1)) assert.ok(existsSync(new URL(src, root)), `COPY source ${src} exists`);
    }
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['.git', 'node_modules', 'data', 'test', '.env', '*.pem', 'dist'])
      assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
  });

  test('the image runs the compiled JS under plain node, built in its own stage the way `npm start` builds it', () => {
    const build = froms.find((f) => f.getBuildStage() === 'build');
    assert.ok(build, 'a build stage');
    const stageOf = (line: number) => froms.filter((f) => f.getRange().start.line <= line).at(-1);
    const runs = df.getInstructions().filter((i) => i.getKeyword() === 'RUN' && stageOf(i.getRange().start.line) === build);
    assert.ok(
      runs.some((r) => /npm run build\b/.test(r.getArgumentsContent() ?? '')),
      'the build stage runs npm run build',
    );
    assert.ok(
      df.getCOPYs().some((c) => c.getFromFlag()?.getValue() === 'build' && c.getArguments()[0].getValue() === '/app/dist'),
      'the runtime copies dist from the build stage',
    );
    const entrypoint = df
      .getInstructions()
      .filter((i) => i.getKeyword() === 'ENTRYPOINT')
      .at(-1)!;
    const argv = JSON.parse(entrypoint.getArgumentsContent()!) as string[];
    assert.ok(!argv.some((a) => /tsx/.test(a)), 'no tsx loader at run time');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    assert.deepEqual(argv.slice(1), pkg.scripts.start.split(' ').slice(1), 'the image runs what `npm start` runs');
    assert.match(pkg.scripts.prestart, /npm run build/);
  });
});

describe('Slack app manifest', () => {
  const text = read('manifest.yml');
  const m = parse(text) as {
    features: { slash_commands: Array<{ command: string; usage_hint: string; description: string }>; bot_user: { display_name: string } };
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean }; socket_mode_enabled: boolean };
  };

  test('one /arm64 command whose usage hint names every subcommand; Socket Mode and interactivity on', () => {
    const [cmd, ...rest] = m.features.slash_commands;
    assert.equal(rest.length, 0);
    assert.equal(cmd.command, '/arm64');
    assert.ok(cmd.description.length <= 100);
    for (const s of subcommands) assert.match(cmd.usage_hint, new RegExp(`\\b${s.name}\\b`), `usage hint mentions ${s.name}`);
    assert.equal(m.settings.socket_mode_enabled, true);
    assert.equal(m.settings.interactivity.is_enabled, true);
    assert.ok(m.features.bot_user.display_name);
  });

  test('bot scopes are the minimal set, each justified in the header', () => {
    assert.deepEqual([...m.oauth_config.scopes.bot].sort(), [
      'chat:write',
      'chat:write.public',
      'commands',
      'files:write',
      'usergroups:read',
    ]);
    for (const scope of m.oauth_config.scopes.bot)
      assert.match(text, new RegExp(`^#\\s+${scope.replace('.', '\\.')}\\s+\\S`, 'm'), `${scope} is explained`);
  });
});
