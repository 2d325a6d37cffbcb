'use strict';
module.exports = {
  ...require('../../tools/jest/jest.preset.js'),
  setupFilesAfterEnv: [require.resolve('@msgin5g/test-support/close-coap-global-agents')],
};
