import { defineConfig } from 'tsup'

export default defineConfig({
  entry: { index: 'lib/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'node20',
  outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
  // CommonJS users write `require('fastify-cors-guard')` and expect the plugin itself, as with
  // @fastify/cors; the named exports stay reachable as properties of it.
  footer: ({ format }) => format === 'cjs'
    ? { js: 'module.exports = Object.assign(module.exports.default, module.exports)' }
    : {}
})
