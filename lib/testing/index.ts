/**
 * `fastify-cors-guard/testing`: hostile-input checks for any Fastify app's CORS answers, to run in
 * the app's own test suite. Uses only `app.inject`; needs no browser and no other dependency.
 *
 * ```ts
 * const findings = await runCorsAttacks(app, { allowed: ['https://app.example.com'], routes: [{ url: '/api', method: 'PUT' }] })
 * assert.equal(findings.length, 0, formatFindings(findings))
 * ```
 */
export { ATTACKER_HOST, ORIGIN_ATTACK_CATEGORIES, attackOrigins } from './attacks'
export type { OriginAttack, OriginAttackCategory } from './attacks'
export { attackPreflights } from './preflights'
export type { PreflightAttack, PreflightAttackCategory } from './preflights'
export { formatFindings, planCorsAttacks, runCorsAttacks } from './run'
export type {
  CorsAttack,
  CorsAttackOptions,
  CorsAttackRoute,
  CorsFinding,
  CorsFindingKind,
  CorsProbe,
  InjectedRequest,
  Injectable
} from './run'
