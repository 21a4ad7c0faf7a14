#!/usr/bin/env node
import { main, processIO } from './cli'
main(process.argv.slice(2), processIO()).then((code) => { process.exitCode = code })
