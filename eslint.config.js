// Lint: typescript-eslint's recommended rules, plus the house rule that library code reads time and randomness
// only through the injected Clock and RandomSource (src/core/clock.ts and src/core/random.ts are the exceptions).
import tseslint from 'typescript-eslint';

const hostTime = [
  { object: 'Date', property: 'now', message: 'Use the injected Clock (src/core/clock.ts).' },
  { object: 'performance', property: 'now', message: 'Use the injected Clock (src/core/clock.ts).' },
  { object: 'Math', property: 'random', message: 'Use the injected RandomSource (src/core/random.ts).' },
  { object: 'globalThis', property: 'setTimeout', message: 'Use the injected Clock.' },
  { object: 'globalThis', property: 'setInterval', message: 'Use the injected Clock.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'docs/**', '.tmp/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/core/clock.ts', 'src/core/random.ts'],
    rules: {
      'no-restricted-properties': ['error', ...hostTime],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use the injected Clock (src/core/clock.ts).' },
        { name: 'setInterval', message: 'Use the injected Clock (src/core/clock.ts).' },
        { name: 'clearTimeout', message: 'Use the injected Clock (src/core/clock.ts).' },
        { name: 'performance', message: 'Use the injected Clock (src/core/clock.ts).' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use the injected Clock.' }],
      'no-console': 'error',
    },
  },
);
