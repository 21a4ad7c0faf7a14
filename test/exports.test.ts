import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import corsPlugin, * as named from '../lib/index'

t.test('the plugin is the default export and the named exports corsPlugin and fastifyCorsGuard', async (t) => {
  t.equal(named.corsPlugin, corsPlugin)
  t.equal(named.fastifyCorsGuard, corsPlugin)
  t.equal(named.CONFIG_ERROR_CODE, 'CORS_GUARD_INVALID_CONFIG')
  t.equal(typeof named.CorsConfigError, 'function')
  t.equal(named.problemCodes.UNKNOWN_OPTION, 'CORS_GUARD_UNKNOWN_OPTION')
})

t.test('the plugin declares its name and Fastify version for fastify-plugin', async (t) => {
  const meta = (corsPlugin as unknown as Record<symbol, { name: string, fastify: string }>)[Symbol.for('plugin-meta')]
  t.match(meta, { name: 'fastify-cors-guard', fastify: '5.x' })
})

// The build is checked in a plain Node process, as a user's project would load it.
const built = join(__dirname, '..', 'dist', 'index.cjs')
t.test('the built package works with require, default import and named import', { skip: existsSync(built) ? false : 'dist/ not built: run npm run build' }, async (t) => {
  const root = join(__dirname, '..')
  const cjs = execFileSync(process.execPath, ['-e', `
    const cors = require(${JSON.stringify(root)})
    console.log(typeof cors, cors === cors.default, cors === cors.corsPlugin, typeof cors.CorsConfigError)
  `], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  t.equal(cjs.trim(), 'function true true function')
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import cors, { corsPlugin } from ${JSON.stringify(join(root, 'dist', 'index.mjs'))}
    console.log(typeof cors, cors === corsPlugin)
  `], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  t.equal(esm.trim(), 'function true')
})
