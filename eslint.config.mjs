// Lint enforces the hexagonal dependency direction (docs/adr/0002-dependency-direction.md):
// core is pure (no node:*, no drivers, no inversify); adapters never reach into package internals.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const drivers = ['coap', 'better-sqlite3', 'inversify', 'reflect-metadata', 'pino', 'commander', 'zod'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@msgin5g/*/src/*', '@msgin5g/*/dist/*'], message: 'Import a package by its public exports, never its internals.' }] },
      ],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'net', 'dgram', 'crypto', 'child_process', 'os', 'path', 'http', 'https'], message: 'core has no I/O: put it behind a port.' },
            { group: drivers, message: 'core depends on no driver or DI container.' },
            { group: ['@msgin5g/*'], message: 'core depends on no other package.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'setTimeout', 'setInterval', 'Buffer', 'require'],
    },
  },
  {
    // Test doubles may use timers; they still import no driver.
    files: ['packages/core/src/testing/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: drivers, message: 'core depends on no driver or DI container.' }, { group: ['@msgin5g/*'], message: 'core depends on no other package.' }] }],
    },
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'net', 'dgram', 'child_process'], message: 'protocol is pure: no I/O.' },
            { group: drivers, message: 'protocol depends on no driver.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/*-link/src/**/*.ts', 'packages/store-*/src/**/*.ts', 'packages/udp-socket/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['inversify', 'reflect-metadata'], message: 'only apps/gateway uses inversify.' }, { group: ['@msgin5g/*/src/*', '@msgin5g/*/dist/*'], message: 'Import a package by its public exports.' }] },
      ],
    },
  },
);
