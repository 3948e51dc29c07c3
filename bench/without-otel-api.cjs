// Preload (`node -r`): `@opentelemetry/api` cannot be resolved, as in an app that does not
// install the optional peer, so the kit loads no OpenTelemetry code. hit-instructions.sh uses it
// with WITHOUT_OTEL_API=1 to count a row without the peer against the same row with it.
const Module = require('node:module');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@opentelemetry/api' || request.startsWith('@opentelemetry/api/')) {
    const error = new Error(`Cannot find module '${request}'`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
