// Boundaries the layout promises (docs/architecture.md "Layout"), checked on every workspace's
// sources and tests: each import is declared in the importing workspace's own package.json, goes
// through the other workspace's public entry (its package name, never a path into it), packages
// never import apps, src/ never imports test helpers, and there are no import cycles.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;

const apps = ['@celerity/api', '@celerity/worker', '@celerity/beat', '@celerity/cli'];
const deepImport = {
  group: ['@celerity/*/src', '@celerity/*/src/**', '@celerity/*/dist', '@celerity/*/dist/**'],
  message: "Import another workspace through its package name (its index), not a path into its files.",
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'apps/ui/**'] },
  {
    files: ['{apps,packages}/*/{src,test}/**/*.ts', 'bench/**/*.ts', 'examples/**/*.{ts,js}'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
    plugins: { 'import-x': importX },
    settings: {
      // parse .ts files when following imports (no-cycle reads the whole graph)
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })],
    },
    rules: {
      // bench/ and examples/ belong to the root package
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: true, includeTypes: true, packageDir: root }],
      'import-x/no-relative-packages': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'no-restricted-imports': ['error', { patterns: [deepImport] }],
    },
  },
  // A workspace's shipped code imports only its own `dependencies`; its tests may also use its
  // `devDependencies` and the root's (vitest and fast-check, which the root runs for every workspace).
  // The test kit is itself test code, so its src/ counts as a test.
  ...workspaces.flatMap((dir) => [
    {
      files: [`${dir}/src/**/*.ts`],
      rules: {
        'import-x/no-extraneous-dependencies': [
          'error',
          dir === 'packages/testkit'
            ? { devDependencies: true, includeTypes: true, packageDir: [join(root, dir), root] }
            : { devDependencies: false, includeTypes: true, packageDir: join(root, dir) },
        ],
      },
    },
    {
      files: [`${dir}/test/**/*.ts`],
      rules: {
        'import-x/no-extraneous-dependencies': [
          'error',
          { devDependencies: true, includeTypes: true, packageDir: [join(root, dir), root] },
        ],
      },
    },
  ]),
  {
    // shipped code never imports the test kit
    files: ['{apps,packages}/*/src/**/*.ts'],
    ignores: ['packages/testkit/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [deepImport],
          paths: [{ name: '@celerity/testkit', message: 'The test kit is for tests only.' }],
        },
      ],
    },
  },
  {
    // apps depend on packages, never the reverse
    files: ['packages/*/{src,test}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [deepImport, { group: apps, message: 'A package never imports an app.' }],
        },
      ],
    },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/testkit/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [deepImport, { group: apps, message: 'A package never imports an app.' }],
          paths: [{ name: '@celerity/testkit', message: 'The test kit is for tests only.' }],
        },
      ],
    },
  },
  {
    files: ['packages/testkit/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [deepImport, { group: apps, message: 'A package never imports an app.' }] },
      ],
    },
  },
);
