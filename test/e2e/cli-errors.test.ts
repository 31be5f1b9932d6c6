/**
 * Bad input to the `aque` binary: one clear line on stderr, exit 2 for usage errors and 1
 * for failures, never a stack trace; help is complete. Also the quick start without a
 * server (`--wait` on the in-process memory broker) and the message when a command needs one.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { BROKERS, CliSandbox, type Result } from './fixtures/cli-harness.js'

const sandboxes: CliSandbox[] = []
afterEach(async () => {
  for (const s of sandboxes.splice(0)) await s.cleanup()
})

function sandbox(url: string | null): CliSandbox {
  const s = new CliSandbox(url)
  sandboxes.push(s)
  return s
}

/** One line on stderr, starting "aque: ", matching `pattern`, no stack frames. */
function expectOneLine(r: Result, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code)
  expect(r.stderr).toMatch(/^aque: [^\n]+\n$/)
  expect(r.stderr).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

describe('aque without a broker', () => {
  it('usage errors exit 2 with one line', async () => {
    const s = sandbox(null)
    expectOneLine(await s.run(['frob']), 2, /unknown command 'frob'/)
    expectOneLine(await s.run(['status', '--bogus']), 2, /unknown option '--bogus'/)
    expectOneLine(await s.run(['submit']), 2, /missing required argument/)
    expectOneLine(await s.run(['kill', '-s', 'NOPE', '1']), 2, /not a signal/)
    expectOneLine(await s.run(['--broker', 'nonsense', 'status']), 2, /must start with a scheme/)
    expectOneLine(await s.run(['--broker', 'foo://x', 'status']), 2, /install @aque\/broker-foo/)
    expectOneLine(await s.run(['worker', '--prefetch', '-1']), 2, /--prefetch: "-1" must be 0 or a positive integer/)
  })

  it('says in one line how to set a broker when tasks must outlive the process', async () => {
    const s = sandbox(null)
    for (const args of [['submit', 'echo', 'hi'], ['status'], ['worker'], ['output', '1']]) {
      expectOneLine(await s.run(args), 2, /needs a broker that outlives this process: set AQUE_BROKER .*--broker/)
    }
    expectOneLine(await s.run(['xargs', 'echo'], { input: 'a b\n' }), 2, /AQUE_BROKER/)
  })

  it('submit --wait, submit --watch and xargs --wait run the tasks in-process on the memory broker', async () => {
    const s = sandbox(null)
    expect(await s.ok(['submit', '--wait', 'true'])).toMatch(/^\d+\n$/)
    expect(await s.ok(['submit', '--watch', '--shell', 'echo hello from $AQUE_TID'])).toBe('1\nhello from 1\n')
    const failed = await s.run(['submit', '--wait', '--shell', 'exit 3'])
    expect(failed.code).toBe(3)
    expect(failed.stderr).toMatch(/^aque: task 1 failed: CommandError: .*exited with code 3\n$/)
    const out = await s.ok(['xargs', '--wait', '-v', '-n1', 'sh', '-c', 'echo $1 >> items.txt', 'sh'], { input: '1 2\n3 4\n' })
    expect(out.trim().split('\n')).toHaveLength(5)
    const some = await s.run(['xargs', '--wait', '-n1', 'test', '2', '-eq'], { input: '1 2 3' })
    expect(some.code).toBe(123)
    expect(some.stderr).toMatch(/^aque: 2 of 3 tasks failed/)
  })

  it('progress and log outside a task say so', async () => {
    const s = sandbox(null)
    expectOneLine(await s.run(['progress', '1/2']), 2, /AQUE_TID/)
    expectOneLine(await s.run(['progress', 'lots'], { env: { AQUE_TID: '1', AQUE_BROKER: 'memory:' } }), 2, /not N, N\/M or N%/)
  })

  it('help lists every command, with examples', async () => {
    const s = sandbox(null)
    const help = await s.ok(['--help'])
    for (const c of ['init', 'submit', 'xargs', 'status', 'output', 'wait', 'kill', 'retry', 'rm', 'worker', 'progress', 'log']) {
      expect(help).toMatch(new RegExp(`^  ${c} `, 'm'))
      const page = await s.ok(['help', c])
      expect(page).toMatch(new RegExp(`^Usage: aque ${c}`))
      expect(page).toMatch(/Examples?/)
    }
    expect(help).toMatch(/AQUE_BROKER/)
  })
})

describe.each(BROKERS)('aque on $name, bad input', ({ url }) => {
  it('a bad id is a usage error, an unknown id, a malformed filter and an unreachable server fail in one line', async () => {
    const s = sandbox(url())
    await s.ok(['init'])
    expectOneLine(await s.run(['status', 'abc']), 2, /"abc" is not a task id/)
    expectOneLine(await s.run(['status', '424242']), 1, /no task 424242/)
    expectOneLine(await s.run(['kill', '424242']), 1, /no task 424242/)
    expectOneLine(await s.run(['output', '-w', '424242']), 1, /no task 424242/)
    expectOneLine(await s.run(['status', '--filter', 'status = "error"']), 2, /malformed filter .*"=="/)
    expectOneLine(await s.run(['status', '--filter', 'status == "error" and']), 2, /malformed filter/)
    expectOneLine(await s.run(['status', '--filter', 'colour == 1']), 2, /unknown field "colour"/)
    expectOneLine(await s.run(['submit', '--memory', 'lots', 'true']), 2, /memory/)
    const unreachable = url().includes('redis') ? 'redis://127.0.0.1:1/0' : 'postgres://postgres@127.0.0.1:1/test'
    expectOneLine(await s.run(['--broker', unreachable, 'status']), 1, /127\.0\.0\.1:1/)
  })
})
