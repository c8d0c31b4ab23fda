// Placeholder entry: replaced by the CLI implementation.
console.error('sextant: not implemented yet');
process.exit(1);
