#!/usr/bin/env node
// The CLI is TypeScript that Node runs by stripping its types, on by default from Node 22.18
// (and 23.6); older Node would fail on the import with an obscure syntax error, so say it plainly.
const [major, minor] = process.versions.node.split('.').map(Number);
const strips = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
if (!strips) {
  process.stderr.write(
    `compress-worker needs Node.js 22.18 or later (this is Node ${process.versions.node}).\n` +
      'In a clone of the repository, npm ci installs one: node_modules/.bin/node bin/compress-worker.mjs …\n',
  );
  process.exit(2);
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
