export * from './testing';
export * from './fixtures/generate-traffic';
