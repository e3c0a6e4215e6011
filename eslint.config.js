// ESLint flat config for Berth (`make lint`). Why each dependency: docs/dependencies.md.
// The type-aware typescript-eslint set, import-x's no-cycle, and the rules that catch real bugs
// cheaply (floating and misused promises). Rules turned off or relaxed say why beside them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/api/schema/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // import-x parses each imported file itself to follow the graph: it needs to know .ts files
      // are TypeScript, or it silently follows nothing (no cycle is ever found).
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // The one structural rule issue 17 asks for: no module may reach itself through its imports.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Real bugs, cheap once the type checker runs.
      // node:test's describe/it/test return promises the runner itself awaits: calling them bare
      // is how the runner is used, not a forgotten await.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // An async function without an await is how this code meets a Promise-returning interface
      // and turns a synchronous throw into a rejection the caller's catch sees; dropping `async`
      // would change that behaviour.
      '@typescript-eslint/require-await': 'off',
      // Rejections and throws pass on what was caught (unknown), and the template engine's break/
      // continue are control-flow signals, not errors: the Error-only rules do not fit.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      // String(v) of an unknown value is the deliberate last resort of Go-style printing.
      '@typescript-eslint/no-base-to-string': 'off',
      // `let [a, b] = …` where only some are reassigned stays one declaration.
      'prefer-const': ['error', { destructuring: 'all' }],
      // Leading-underscore parameters are the deliberate "unused" ones (interface shapes).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read the daemon's JSON answers as untyped values and assert on their fields: typing
    // every response in a test adds nothing the assertions do not already check.
    files: ['test/**/*.ts', 'src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Tests match terminal escape sequences (ESC) on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Go's int64/uint64 bounds written as the JSON numbers dockerd's decoder sees: the double they
    // round to is exactly what the checks compare against.
    files: ['scripts/gen-api-schema.mjs', 'src/api/validate.test.ts'],
    rules: { 'no-loss-of-precision': 'off' },
  },
  {
    // Build scripts are plain JavaScript outside tsconfig: the untyped rules only.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
);
