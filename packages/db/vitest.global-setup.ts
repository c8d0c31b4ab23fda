import type { TestProject } from 'vitest/node';
import { setupTestPostgres } from './src/testing';

export default async function setup(project: TestProject) {
  return setupTestPostgres((key, value) => project.provide(key, value));
}
