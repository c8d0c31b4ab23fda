#!/usr/bin/env node
// Runs the collector from its TypeScript source in this same process (tsx's loader), so signals — SIGKILL
// included — reach the process that owns the BPF programs.
import { register } from 'tsx/esm/api';

register();
await import('../src/index.ts');
