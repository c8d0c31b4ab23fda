export * from './flow';
export * from './status';
export * from './wire';
export * from './filter';
export * from './histogram';
export * from './identity';
export * from './matcher';
export * from './random';
