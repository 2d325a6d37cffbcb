'use strict';
module.exports = {
  ...require('../../tools/jest/jest.preset.js'),
  setupFilesAfterEnv: ['<rootDir>/test/close-coap-global-agents.ts'],
};
