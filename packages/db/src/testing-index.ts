export * from './testing';
export * from './fixtures/generate-traffic';
export { startNode as startCitusNode, stopNode as stopCitusNode, type CitusNode } from './citus/cluster';
export type { TestCluster } from './citus/test-databases';
export * from './fixtures/stored-batch';
export * from './fixtures/l7-aggregate';
