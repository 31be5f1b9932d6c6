/**
 * What V8's optimizing compiler does during a PostgreSQL drain as the bench times it (10,000
 * no-op tasks after a 500-task warm-up, one worker, concurrency 32): the script runs that
 * drain in a child under `--trace-opt --trace-deopt`, then counts the functions TurboFan
 * compiled between the drain's start and end, the milliseconds their compiles took (on V8's
 * helper threads, beside the main thread), the deoptimizations, and the functions that took
 * longest. `--rounds N` drains N batches in the same process: the later ones show a warm
 * process.
 *   node bench/profiles/postgres-drain-compile.mjs [--rounds 1] [--top 12]
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '1' }, top: { type: 'string', default: '12' }, child: { type: 'boolean', default: false } } })
const BEGIN = '=== drain begins'
const END = '=== drain ends'

if (opts.child) {
  const { PostgresBroker } = await import('@aque/broker-postgres')
  const { Queue, Worker, task } = await import('@aque/core')
  const noop = task('bench-noop', () => {})
  const broker = new PostgresBroker(`postgres://postgres@127.0.0.1:5432/test?schema=aque_compile_${randomBytes(6).toString('hex')}`)
  await broker.init()
  try {
    await broker.ready()
    const queue = new Queue({ broker })
    const worker = new Worker(broker, { concurrency: 32 })
    await queue.submitMany(Array.from({ length: 500 }, () => ({ func: noop })))
    await worker.runToEnd()
    for (let r = 0; r < Number(opts.rounds); r++) {
      await queue.submitMany(Array.from({ length: 10_000 }, () => ({ func: noop })))
      console.log(BEGIN)
      const t0 = performance.now()
      const ran = await worker.runToEnd()
      console.log(`${END}: ${ran} tasks in ${(performance.now() - t0).toFixed(0)} ms`)
    }
  } finally {
    await broker.destroy()
    await broker.close()
  }
} else {
  const child = spawnSync(process.execPath, ['--trace-opt', '--trace-deopt', fileURLToPath(import.meta.url), '--child', '--rounds', opts.rounds], { encoding: 'utf8', maxBuffer: 1 << 28 })
  if (child.status !== 0) throw new Error(`the drain failed: ${child.stderr}`)
  let inside = false
  let round = 0
  /** @type {{ compiles: { name: string, ms: number }[], deopts: number }} */
  let current = { compiles: [], deopts: 0 }
  for (const line of child.stdout.split('\n')) {
    if (line === BEGIN) {
      inside = true
      current = { compiles: [], deopts: 0 }
      continue
    }
    if (line.startsWith(END)) {
      inside = false
      round++
      const ms = current.compiles.reduce((sum, c) => sum + c.ms, 0)
      console.log(`drain ${round} (${line.slice(END.length + 2)}): TurboFan compiled ${current.compiles.length} functions in ${ms.toFixed(1)} ms; ${current.deopts} deoptimizations`)
      const top = [...current.compiles].sort((a, b) => b.ms - a.ms).slice(0, Number(opts.top))
      for (const c of top) console.log(`  ${c.ms.toFixed(1).padStart(6)} ms  ${c.name}`)
      continue
    }
    if (!inside) continue
    // "[completed compiling 0x… <JSFunction name (sfi = …)> (target TURBOFAN) - took a, b, c ms]": b is the compile itself.
    const compiled = /<JSFunction ([^ >]*)[^>]*>.*took [0-9.]+, ([0-9.]+), [0-9.]+ ms/.exec(line)
    if (compiled && line.startsWith('[completed compiling')) current.compiles.push({ name: compiled[1] || '(anonymous)', ms: Number(compiled[2]) })
    else if (line.startsWith('[bailout')) current.deopts++
  }
}
