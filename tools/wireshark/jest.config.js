'use strict';
module.exports = { ...require('../jest/jest.preset.js') };
