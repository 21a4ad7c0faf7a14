import { defineConfig } from 'tsup'

// TypeBox's runtime is bundled in, tree-shaken to what validation uses. Required from
// node_modules it loads about 250 modules, and in A/B runs of the HTTP benchmark that alone made
// request handling measurably slower (see BENCHMARKS.md). Its types still come from the dependency.
const noExternal = ['@sinclair/typebox']

export default defineConfig([
  {
    entry: { index: 'lib/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: false,
    noExternal,
    target: 'node20',
    outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
    // CommonJS users write `require('fastify-cors-guard')` and expect the plugin itself, as with
    // @fastify/cors; the named exports stay reachable as properties of it.
    footer: ({ format }) => format === 'cjs'
      ? { js: 'module.exports = Object.assign(module.exports.default, module.exports)' }
      : {}
  },
  {
    // The attack suite users run against their own app: no default export, so no footer.
    entry: { testing: 'lib/testing/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: false,
    noExternal,
    target: 'node20',
    outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' })
  },
  {
    // The CORS doctor command: CommonJS only, and without the footer above (it has no default export).
    entry: { 'doctor/bin': 'lib/doctor/bin.ts' },
    format: ['cjs'],
    dts: false,
    clean: false,
    noExternal,
    target: 'node20',
    outExtension: () => ({ js: '.cjs' })
  }
])
