/** What the server and process entry points hook in; the run engine imports ./runs directly. */
export { observeHttpOperations, observeWsOperations, operationsPlugin } from './operations';
export { serveMetrics } from './endpoint';
export { installTracing, uninstallTracing } from './tracing';
