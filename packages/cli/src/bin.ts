#!/usr/bin/env node
import { run } from './program.js'

// A closed pipe (`aque status | head -1`) ends the output quietly, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

const code = await run(process.argv)
// Open connections (an unreachable server retrying) must not keep the command alive.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
