/**
 * The facility model: schema and types of the facility file, loading with every problem
 * reported, and the site's working calendar.
 */
export * from './calendar.ts';
export * from './demo.ts';
export * from './geometry.ts';
export * from './labels.ts';
export * from './load.ts';
export * from './problem.ts';
export * from './schema.ts';
export * from './secret-hash.ts';
export * from './validate.ts';
