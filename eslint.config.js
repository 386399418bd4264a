import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'miniprogram_dist/**', 'server/dist/**', 'node_modules/**', 'docs/api/**', 'examples/**/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', Buffer: 'readonly',
        WebSocket: 'readonly', document: 'readonly', window: 'readonly', fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests and benchmarks poke at raw wire frames, where `any` is the honest type.
    files: ['test/**', 'bench/**'],
    languageOptions: { globals: { setImmediate: 'readonly', performance: 'readonly', TextEncoder: 'readonly' } },
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // The API reference (npm run docs:api).
  { ignores: ['api-docs/**'] },
);
