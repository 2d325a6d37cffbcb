'use strict';
module.exports = {
  ...require('../../tools/jest/jest.preset.js'),
  testTimeout: 60000,
  // fastify's inject (light-my-request) requires `cookie`, which ships ES modules only; Node 20.19
  // loads it with require(esm), but Jest's module loader does not, so swc compiles it to CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/cookie@|cookie/))'],
};
