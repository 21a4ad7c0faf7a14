'use strict'

// Rewrites dist/index.d.ts, the types of the CommonJS build, so that they say what that build is:
// `module.exports` is the plugin itself, carrying the named exports as properties (tsup.config.ts
// adds that footer). Declared with ES exports, as tsup writes them, `import cors = require(…)`
// gives TypeScript users the module namespace, which Fastify refuses as a plugin. @fastify/cors
// declares `export =` with a namespace, so code written against it compiles against this one too.
// Usage: node scripts/cjs-types.js [file]   (run by `npm run build`, after tsup)

const { readFileSync, writeFileSync } = require('node:fs')
const path = require('node:path')

const file = process.argv[2] ?? path.join(__dirname, '..', 'dist', 'index.d.ts')

/** The `export = ` form of an ES-export declaration file; throws when it is not the shape tsup writes. */
function toExportAssignment (source) {
  const exportList = /^export \{([^}]*)\};\s*$/m
  const match = exportList.exec(source)
  if (match === null || source.match(/^export /gm).length !== 1) {
    throw new Error('expected exactly one `export { … };` statement and no other export')
  }
  // The namespace carries the named exports and must merge with a function: the plugin's own.
  const plugin = /^declare const corsPlugin: typeof (\w+);$/m.exec(source)?.[1]
  if (plugin === undefined || !new RegExp(`^declare function ${plugin}\\(`, 'm').test(source)) {
    throw new Error('expected `declare const corsPlugin: typeof <a function declared in the file>`')
  }
  const namespace = `declare namespace ${plugin} {\n  export {${match[1]}}\n}\nexport = ${plugin};\n`
  return source.slice(0, match.index) + namespace + source.slice(match.index + match[0].length)
}

try {
  writeFileSync(file, toExportAssignment(readFileSync(file, 'utf8')))
} catch (error) {
  console.error(`scripts/cjs-types.js: ${file}: ${error.message}`)
  process.exitCode = 1
}
