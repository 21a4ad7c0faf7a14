import { corsPlugin } from './plugin'

export { corsPlugin }
export { corsPlugin as fastifyCorsGuard }
export { CorsConfigError, CONFIG_ERROR_CODE, problemCodes } from './errors'
export type { ConfigProblem, ProblemCode, ProblemSeverity } from './errors'
export type { ReasonCode } from './decision'
export type { CorsDecorator } from './plugin'
export type { CorsExplainInput, CorsExplanation } from './explain'
export type { CorsDenial } from './denials'
export { corsOptionsFromEnv } from './env'
export type { RouteCorsConfig } from '../types/augmentation'
export type {
  CorsOptions,
  CorsOptionsDelegate,
  DenialListener,
  DelegatedCorsOptions,
  OriginAnswer,
  OriginCallback,
  OriginFunction,
  RouteCorsOptions
} from './schema'
export default corsPlugin
