#!/usr/bin/env node
// The `sextant` command (observe, status, list, import), run from its TypeScript source through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/index.ts');
