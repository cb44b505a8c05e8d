// @ts-check
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'scripts/**', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-object-type': 'off',
    },
  },
  {
    // A check that passes whatever the code does is a defect: an expected error is always described.
    // A wait is a condition with a deadline (test/helpers/wait.ts), never a loop of N sleeps.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='assert'][callee.property.name=/^(throws|rejects)$/][arguments.length<2]",
          message: 'assert.throws/rejects needs a predicate: an error class, a RegExp or a function saying which error is expected.',
        },
        {
          selector:
            "CallExpression[callee.object.name='assert'][callee.property.name=/^(throws|rejects)$/] > :matches(Literal[regex=undefined], TemplateLiteral).arguments:nth-child(2)",
          message: 'A string as second argument of assert.throws/rejects is a message, not a predicate: pass an error class, a RegExp or a function.',
        },
        {
          selector: ":matches(ForStatement[test], WhileStatement, DoWhileStatement):has(CallExpression[callee.name='setTimeout'])",
          message: 'No polling loops in tests: wait with waitFor() from test/helpers/wait.ts (a condition, a generous deadline, says what it waited for).',
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no Node-side modules.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
          patterns: [
            {
              group: ['**/activities/*', '!**/activities/index.js', '**/openstack/**', '**/cluster/**', '**/sim/**', 'node-fetch', 'ssh2'],
              message: 'Workflows may import only src/shared and type-only activity declarations.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Not available in workflow code.' },
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Workflow time comes from the workflow API.' },
        { object: 'Math', property: 'random', message: 'Randomness comes from the workflow API (uuid4 / seeded Math.random is patched, but be explicit).' },
      ],
    },
  },
);
