// The package as a gateway installs it: in a project made by `npm init -y` (CommonJS
// since npm 10), `require('wa-version-client')` and `import` both give Baileys' two
// functions, answering the service's version; and the package README's snippets run as
// pasted, with a stand-in `baileys` that records the version makeWASocket() was given.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { nextRevision, serviceRefreshesTo, world } from './support.js';

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const NPM = path.join(path.dirname(process.execPath), 'npm');

let project;
let revision;

before(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'wa-version-gateway-'));
  await run(NPM, ['init', '-y'], { cwd: project, timeout: 60_000 });
  const modules = path.join(project, 'node_modules');
  await mkdir(modules);
  await symlink(PACKAGE, path.join(modules, 'wa-version-client'), 'dir'); // as npm link does
  await standInBaileys(path.join(modules, 'baileys'));
  revision = await nextRevision();
  await serviceRefreshesTo(revision);
});

after(async () => {
  await rm(project, { recursive: true, force: true });
});

// A `baileys` whose makeWASocket() prints the version it was given, as JSON.
async function standInBaileys(dir) {
  await mkdir(dir);
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'baileys', main: 'index.js' }));
  const code = `exports.makeWASocket = (config) => {
  console.log(JSON.stringify({ socketVersion: config.version }));
  return { ev: { on() {} } };
};
exports.useMultiFileAuthState = async () => ({ state: {}, saveCreds: async () => {} });
exports.DisconnectReason = { loggedOut: 401 };
`;
  await writeFile(path.join(dir, 'index.js'), code);
}

async function runInProject(file, code) {
  await writeFile(path.join(project, file), code);
  const env = { ...process.env, REDIS_URL: world.redisUrl, REDIS_PREFIX: world.prefix };
  const { stdout } = await run(process.execPath, [file], { cwd: project, env, timeout: 30_000 });
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

test('npm init -y makes a CommonJS project (the case the README must cover)', async () => {
  const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8'));
  assert.equal(manifest.type, 'commonjs');
});

test("require('wa-version-client') in a CommonJS project gives both of Baileys' functions", async () => {
  const lines = await runInProject(
    'require.js',
    `const { fetchLatestBaileysVersion, fetchLatestWaWebVersion } = require('wa-version-client');
(async () => {
  for (const fetchVersion of [fetchLatestWaWebVersion, fetchLatestBaileysVersion]) {
    console.log(JSON.stringify(await fetchVersion({})));
  }
})();
`,
  );
  for (const answer of lines) assert.deepEqual(answer, { version: [2, 3000, revision], isLatest: true });
  assert.equal(lines.length, 2);
});

test('import in an ES module gives both functions, the same answers', async () => {
  const lines = await runInProject(
    'imports.mjs',
    `import { fetchLatestBaileysVersion, fetchLatestWaWebVersion } from 'wa-version-client';
console.log(JSON.stringify(await fetchLatestWaWebVersion()));
console.log(JSON.stringify(await fetchLatestBaileysVersion()));
`,
  );
  assert.deepEqual(lines, [
    { version: [2, 3000, revision], isLatest: true },
    { version: [2, 3000, revision], isLatest: true },
  ]);
});

// The README's blocks: ```js (CommonJS, as a project made by npm init -y runs .js) and
// ```mjs (an ES module, a .mjs file or "type": "module").
async function readmeBlocks(language) {
  const readme = await readFile(path.join(PACKAGE, 'README.md'), 'utf8');
  return readme.split(`\`\`\`${language}\n`).slice(1).map((block) => block.split('```')[0]);
}

for (const [language, file] of [
  ['js', 'readme.js'],
  ['mjs', 'readme.mjs'],
]) {
  test(`the package README's ${language} snippets run as pasted, makeWASocket getting the service's version`, async () => {
    const blocks = await readmeBlocks(language);
    const connecting = blocks.filter((block) => block.includes('makeWASocket('));
    assert.ok(connecting.length > 0, `the README has a \`\`\`${language} block that connects`);
    for (const block of connecting) {
      const lines = await runInProject(file, block);
      assert.deepEqual(lines.at(-1), { socketVersion: [2, 3000, revision] });
    }
    for (const block of blocks.filter((each) => !connecting.includes(each))) {
      await writeFile(path.join(project, file), block);
      await run(process.execPath, ['--check', file], { cwd: project, timeout: 30_000 }); // valid as it is
    }
  });
}
