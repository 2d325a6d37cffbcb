'use strict';
module.exports = { ...require('../../tools/jest/jest.preset.js') };
