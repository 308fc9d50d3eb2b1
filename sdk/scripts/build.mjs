// Builds dist/esm and dist/cjs with tsc, both at once, and marks each folder's
// module format with a package.json, so Node and TypeScript (nodenext) read
// dist/esm/*.js and *.d.ts as ES modules and dist/cjs as CommonJS.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const builds = [
  { config: 'tsconfig.json', dir: 'esm', type: 'module' },
  { config: 'tsconfig.cjs.json', dir: 'cjs', type: 'commonjs' },
];

function run(config) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', config], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p ${config} exited with ${code}`))));
  });
}

try {
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  await Promise.all(builds.map((b) => run(b.config)));
  for (const b of builds) writeFileSync(path.join(root, 'dist', b.dir, 'package.json'), `${JSON.stringify({ type: b.type })}\n`);
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
}
