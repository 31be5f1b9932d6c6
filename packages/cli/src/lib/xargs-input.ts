import { UsageError } from './errors.js'

/** How `aque xargs` cuts its input into command lines, as xargs does. */
export interface SplitOptions {
  /** Items are separated by this string only, with no quoting (`-d`; `-0` is "\0"). */
  delimiter?: string | undefined
  /** At most this many items per command (`-n`). */
  maxArgs?: number | undefined
  /** At most this many non-blank input lines per command (`-L`). */
  maxLines?: number | undefined
  /** Each input line is one item and replaces this string in the command (`-I`). */
  replace?: string | undefined
}

interface Item {
  text: string
  /** Logical input line the item came from (for `-L`). */
  line: number
}

const BLANK = /[ \t]/

/**
 * Splits xargs-style: items are separated by blanks and newlines; single and double quotes
 * and backslashes protect blanks; a line ending in a blank goes on on the next line.
 */
export function splitItems(input: string): Item[] {
  const items: Item[] = []
  let line = 0
  let current: string | null = null
  let quote: string | null = null
  let lastWasBlank = false
  const end = () => {
    if (current !== null) items.push({ text: current, line })
    current = null
  }
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string
    if (quote) {
      if (c === quote) quote = null
      else if (c === '\n') throw new UsageError(`xargs: unmatched ${quote === '"' ? 'double' : 'single'} quote in the input`)
      else current += c
      continue
    }
    if (c === '\n') {
      end()
      // A line that ends in a blank is continued on the next one (xargs -L).
      if (!lastWasBlank && items.length > 0 && items[items.length - 1]?.line === line) line++
      lastWasBlank = false
      continue
    }
    if (BLANK.test(c)) {
      end()
      lastWasBlank = true
      continue
    }
    lastWasBlank = false
    if (c === '"' || c === "'") {
      quote = c
      current ??= ''
    } else if (c === '\\' && i + 1 < input.length) {
      current = (current ?? '') + input[++i]
    } else {
      current = (current ?? '') + c
    }
  }
  if (quote) throw new UsageError(`xargs: unmatched ${quote === '"' ? 'double' : 'single'} quote in the input`)
  end()
  return items
}

function chunk<T>(values: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size))
  return out
}

/** The argument lists to append to the command, one per task. */
export function splitInput(input: string, options: SplitOptions): string[][] {
  const modes = [options.maxArgs, options.maxLines, options.replace].filter((v) => v !== undefined).length
  if (modes > 1) throw new UsageError('xargs: use only one of -n, -L and -I')
  if (options.replace !== undefined) {
    // -I: one command per non-empty line, leading blanks removed.
    const lines = options.delimiter !== undefined ? input.split(options.delimiter) : input.split('\n').map((l) => l.replace(/^[ \t]+/, ''))
    return lines.filter((l) => l !== '').map((l) => [l])
  }
  let items: Item[]
  if (options.delimiter !== undefined) {
    const parts = input.split(options.delimiter)
    if (parts[parts.length - 1] === '' || (options.delimiter !== '\n' && parts[parts.length - 1] === '\n')) parts.pop()
    items = parts.map((text, line) => ({ text, line }))
  } else {
    items = splitItems(input)
  }
  if (options.maxLines !== undefined) {
    const byLine: string[][] = []
    let lastLine = -1
    for (const item of items) {
      if (item.line !== lastLine) byLine.push([])
      byLine[byLine.length - 1]?.push(item.text)
      lastLine = item.line
    }
    return chunk(byLine, options.maxLines).map((lines) => lines.flat())
  }
  const texts = items.map((i) => i.text)
  if (options.maxArgs !== undefined) return chunk(texts, options.maxArgs)
  return texts.length > 0 ? [texts] : []
}

/** The command of one task: the initial arguments, with `-I`'s string replaced or the items appended. */
export function commandFor(initial: string[], items: string[], replace?: string): string[] {
  if (replace === undefined) return [...initial, ...items]
  const value = items[0] ?? ''
  return initial.map((arg) => arg.split(replace).join(value))
}
