import { startEmbeddedPostgres } from '../packages/db/src/embedded.ts';
const h = await startEmbeddedPostgres({ dataDir: '/work/main/.sextant/devpg', port: 54329, log: console.log });
console.log('URL', h.url);
setInterval(() => {}, 1 << 30);
