import type { Command } from 'commander'
import { type Broker, encode, getBroker } from '@aque/core'
import { UsageError } from '../lib/errors.js'
import { parseIds } from '../lib/ids.js'

/** The task this process runs in, from the environment a worker gives shell tasks. */
async function runningTask(command: string): Promise<{ id: number; broker: Broker }> {
  const tid = process.env.AQUE_TID
  const url = process.env.AQUE_BROKER
  if (!tid || !url) throw new UsageError(`${command} reports for the task it runs in: AQUE_TID and AQUE_BROKER are not set (run it from a task's command)`)
  const [id] = parseIds([tid])
  return { id: id as number, broker: await getBroker(url) }
}

/** "3/10" → done 3 of 10; "3" → done 3; "30%" → 30 of 100. */
export function parseProgress(text: string): { done: number; total: number | null } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(%)|\/\s*(\d+(?:\.\d+)?))?\s*$/.exec(text)
  if (!m) throw new UsageError(`progress: "${text}" is not N, N/M or N%`)
  const done = Number(m[1])
  const total = m[2] ? 100 : m[3] !== undefined ? Number(m[3]) : null
  if (total !== null && total <= 0) throw new UsageError(`progress: the total in "${text}" must be positive`)
  return { done, total }
}

export function registerReport(program: Command): void {
  program
    .command('progress')
    .summary('report progress from inside a running shell task')
    .description("Report how far the task this command runs in got (from AQUE_TID and AQUE_BROKER, which the worker sets). aque status shows it.")
    .argument('<done>', 'N, N/M or N%')
    .argument('[message...]', 'what it is doing')
    .addHelpText('after', `\nExamples (inside a task's command):\n  $ for f in *.exr; do aque progress $((++i))/$(ls *.exr | wc -l) "$f"; convert "$f" ...; done\n  $ aque progress 50%`)
    .action(async (doneText: string, message: string[]) => {
      const progress = parseProgress(doneText)
      const { id, broker } = await runningTask('aque progress')
      try {
        await broker.progress(id, { ...progress, message: message.length > 0 ? message.join(' ') : null })
      } finally {
        await broker.close()
      }
    })

  program
    .command('log')
    .summary("append a message to the running task's log stream")
    .description("Append a record to the log stream of the task this command runs in (from AQUE_TID and AQUE_BROKER).")
    .argument('<message...>', 'the message')
    .addHelpText('after', `\nExample (inside a task's command):\n  $ aque log "frame 12 needed 3 retries"`)
    .action(async (message: string[]) => {
      const { id, broker } = await runningTask('aque log')
      try {
        const record = `${encode({ time: Date.now(), values: [message.join(' ')] })}\n`
        await broker.appendOutput(id, [{ stream: 'log', data: Buffer.from(record), time: Date.now() }])
      } finally {
        await broker.close()
      }
    })
}
