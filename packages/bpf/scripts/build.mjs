// Builds @sextant/bpf during `npm install`: the BPF object (clang -target bpf) and the libbpf N-API addon
// (node-gyp). npm runs a workspace's install script before the root package's `preinstall`, so this script
// makes sure of its own toolchain first (scripts/install-system-deps.sh: apt as root, a clear message
// otherwise). When the toolchain is still missing it says exactly what to install and exits 0, so the rest
// of Sextant installs and runs; preflight() then reports the reason recorded in build/UNAVAILABLE, and
// `npm start` rebuilds the addon once the toolchain is there.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(root, 'build');
const unavailable = path.join(buildDir, 'UNAVAILABLE');
const APT = 'apt-get install -y clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool';

function fail(reason) {
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(unavailable, `${reason}\n`);
  console.warn(
    `[@sextant/bpf] eBPF collector not built: ${reason}\n[@sextant/bpf] install the toolchain (as root: ${APT}) and run: npm rebuild @sextant/bpf`,
  );
  process.exit(0);
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (process.platform !== 'linux') fail(`eBPF needs Linux (this is ${process.platform})`);
const systemDeps = path.resolve(root, '..', '..', 'scripts', 'install-system-deps.sh');
if (fs.existsSync(systemDeps)) {
  spawnSync('bash', [systemDeps, 'runtime'], { stdio: 'inherit' });
}
if (!has('clang')) fail('clang is missing');
for (const header of ['/usr/include/bpf/libbpf.h', '/usr/include/libelf.h', '/usr/include/zlib.h']) {
  if (!fs.existsSync(header)) fail(`${header} is missing (libbpf-dev, libelf-dev, zlib1g-dev)`);
}

const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = process.env.npm_config_node_gyp;
}
if (!gyp) fail('node-gyp not found');
// Build against the local Node headers (no download): npm passes nodedir to lifecycle scripts; when run
// by hand, use the distribution's headers if present.
const nodedir = process.env.npm_config_nodedir ?? (fs.existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail(`the N-API addon failed to compile (node-gyp exit ${r.status})`);

const arch = { x64: 'x86', arm64: 'arm64' }[process.arch];
if (!arch) fail(`unsupported architecture ${process.arch}`);
const bpfOut = path.join(buildDir, 'bpf');
fs.mkdirSync(bpfOut, { recursive: true });
try {
  execFileSync(
    'clang',
    [
      '-g',
      '-O2',
      '-target',
      'bpf',
      `-D__TARGET_ARCH_${arch}`,
      '-I',
      path.join(root, 'src', 'bpf'),
      '-c',
      path.join(root, 'src', 'bpf', 'sextant.bpf.c'),
      '-o',
      path.join(bpfOut, 'sextant.bpf.o'),
    ],
    { stdio: 'inherit' },
  );
} catch {
  fail('clang could not compile src/bpf/sextant.bpf.c');
}
fs.rmSync(unavailable, { force: true });
console.log('[@sextant/bpf] built build/Release/sextant_bpf.node and build/bpf/sextant.bpf.o');
