import type { FastifyPluginCallback } from 'fastify'

export interface DemoOptions {
  /** The playground page's port on 127.0.0.1; 0 picks a free one. Default 3000. */
  pagePort?: number
  /** The API's port; 0 picks a free one. Default 3100. */
  apiPort?: number
  /** The host name the API listens on and is reached by. Default 'localhost'. */
  host?: string
  /** The CORS plugin; defaults to the built package (dist/index.cjs). */
  plugin?: FastifyPluginCallback<any>
  /** Receives one line per API request (the explain endpoint's excepted). */
  log?: (line: string) => void
}

export interface Demo {
  /** e.g. http://127.0.0.1:3000/ */
  pageUrl: string
  /** e.g. http://localhost:3100 */
  apiUrl: string
  close: () => Promise<void>
}

export function startDemo (options?: DemoOptions): Promise<Demo>
