export * from './duration.ts';
export * from './env.ts';
export * from './envelope.ts';
export * from './http-timeouts.ts';
export * from './validation.ts';
export * from './webhooks.ts';
