/**
 * The `--filter` language: a small, safe expression language over task fields, parsed by a
 * hand-written tokenizer and recursive-descent parser and evaluated by walking the tree.
 * Nothing is ever passed to `eval` or `Function`.
 *
 *   expr    := or
 *   or      := and ( ("or" | "||") and )*
 *   and     := unary ( ("and" | "&&") unary )*
 *   unary   := ("not" | "!") unary | compare
 *   compare := value [ ("==" | "!=" | "<" | "<=" | ">" | ">=") value | ["not"] "in" list ]
 *   value   := number | string | true | false | null | field | list | "(" expr ")"
 *   list    := "[" [ value ("," value)* ] "]"
 *   field   := name ("." name)*
 */
import { UsageError } from './errors.js'

type Token =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'name'; value: string; at: number }
  | { kind: 'op'; value: string; at: number }
  | { kind: 'end'; at: number }

export type Node =
  | { type: 'literal'; value: unknown }
  | { type: 'field'; path: string[] }
  | { type: 'list'; items: Node[] }
  | { type: 'not'; operand: Node }
  | { type: 'and' | 'or'; left: Node; right: Node }
  | { type: 'compare'; op: string; left: Node; right: Node }
  | { type: 'in'; negated: boolean; left: Node; list: Node }

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ',', '=']
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null'])

function fail(text: string, at: number, problem: string): never {
  throw new UsageError(`malformed filter at character ${at + 1} of "${text}": ${problem}`)
}

/** Whether a token ends a value, so that a "-" after it cannot start a negative number. */
function endsValue(token: Token | undefined): boolean {
  if (!token) return false
  if (token.kind === 'op') return token.value === ')' || token.value === ']'
  return token.kind !== 'name' || !['and', 'or', 'not', 'in'].includes(token.value)
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (/\s/.test(c)) {
      i++
      continue
    }
    const start = i
    if (c === '"' || c === "'") {
      let value = ''
      i++
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) i++
        value += text[i]
        i++
      }
      if (i >= text.length) fail(text, start, 'unterminated string')
      i++
      tokens.push({ kind: 'string', value, at: start })
      continue
    }
    const number = /^-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?/i.exec(text.slice(i))
    if (number && (c !== '-' || !endsValue(tokens[tokens.length - 1]))) {
      tokens.push({ kind: 'number', value: Number(number[0]), at: start })
      i += number[0].length
      continue
    }
    const name = /^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*/.exec(text.slice(i))
    if (name) {
      tokens.push({ kind: 'name', value: name[0], at: start })
      i += name[0].length
      continue
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i))
    if (!op) fail(text, start, `unexpected "${c}"`)
    if (op === '=') fail(text, start, 'use "==" to compare')
    tokens.push({ kind: 'op', value: op, at: start })
    i += op.length
  }
  tokens.push({ kind: 'end', at: text.length })
  return tokens
}

/** Parses a filter; `fields` are the names a field reference may start with. */
export function parseFilter(text: string, fields: ReadonlySet<string>): Node {
  const tokens = tokenize(text)
  let pos = 0
  const peek = (): Token => tokens[pos] as Token
  const isWord = (t: Token, word: string) => t.kind === 'name' && t.value === word
  const isOp = (t: Token, op: string) => t.kind === 'op' && t.value === op
  const expect = (op: string) => {
    const t = peek()
    if (!isOp(t, op)) fail(text, t.at, `expected "${op}"${t.kind === 'end' ? ' before the end' : ''}`)
    pos++
  }

  const parseOr = (): Node => {
    let left = parseAnd()
    while (isWord(peek(), 'or') || isOp(peek(), '||')) {
      pos++
      left = { type: 'or', left, right: parseAnd() }
    }
    return left
  }
  const parseAnd = (): Node => {
    let left = parseUnary()
    while (isWord(peek(), 'and') || isOp(peek(), '&&')) {
      pos++
      left = { type: 'and', left, right: parseUnary() }
    }
    return left
  }
  const parseUnary = (): Node => {
    if (isWord(peek(), 'not') || isOp(peek(), '!')) {
      pos++
      return { type: 'not', operand: parseUnary() }
    }
    return parseCompare()
  }
  const parseCompare = (): Node => {
    const left = parseValue()
    const t = peek()
    if (t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.value)) {
      pos++
      return { type: 'compare', op: t.value, left, right: parseValue() }
    }
    if (isWord(t, 'in') || (isWord(t, 'not') && isWord(tokens[pos + 1] as Token, 'in'))) {
      const negated = isWord(t, 'not')
      pos += negated ? 2 : 1
      if (!isOp(peek(), '[')) fail(text, peek().at, 'expected a list "[...]" after "in"')
      return { type: 'in', negated, left, list: parseValue() }
    }
    return left
  }
  const parseValue = (): Node => {
    const t = peek()
    switch (t.kind) {
      case 'number':
      case 'string':
        pos++
        return { type: 'literal', value: t.value }
      case 'name': {
        pos++
        if (t.value === 'true' || t.value === 'false') return { type: 'literal', value: t.value === 'true' }
        if (t.value === 'null') return { type: 'literal', value: null }
        if (KEYWORDS.has(t.value)) fail(text, t.at, `unexpected "${t.value}"`)
        const path = t.value.split('.')
        if (!fields.has(path[0] as string)) fail(text, t.at, `unknown field "${path[0]}" (fields: ${[...fields].join(', ')})`)
        return { type: 'field', path }
      }
      case 'op':
        if (t.value === '(') {
          pos++
          const inner = parseOr()
          expect(')')
          return inner
        }
        if (t.value === '[') {
          pos++
          const items: Node[] = []
          while (!isOp(peek(), ']')) {
            items.push(parseValue())
            if (!isOp(peek(), ',')) break
            pos++
          }
          expect(']')
          return { type: 'list', items }
        }
        return fail(text, t.at, `unexpected "${t.value}"`)
      default:
        return fail(text, t.at, 'the expression ends too soon')
    }
  }

  if (peek().kind === 'end') fail(text, 0, 'the filter is empty')
  const node = parseOr()
  if (peek().kind !== 'end') fail(text, peek().at, 'unexpected text after the expression')
  return node
}

function truthy(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : Boolean(value)
}

function equal(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null
  if (b === undefined) b = null
  return a === b
}

function order(op: string, a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false
  const x = a as number | string
  const y = b as number | string
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y
}

/** Evaluates a parsed filter over one object (a task with computed fields). */
export function evaluate(node: Node, subject: Record<string, unknown>): unknown {
  switch (node.type) {
    case 'literal':
      return node.value
    case 'field': {
      let value: unknown = subject
      for (const key of node.path) {
        if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return null
        value = (value as Record<string, unknown>)[key]
      }
      return value
    }
    case 'list':
      return node.items.map((item) => evaluate(item, subject))
    case 'not':
      return !truthy(evaluate(node.operand, subject))
    case 'and':
      return truthy(evaluate(node.left, subject)) && truthy(evaluate(node.right, subject))
    case 'or':
      return truthy(evaluate(node.left, subject)) || truthy(evaluate(node.right, subject))
    case 'compare': {
      const a = evaluate(node.left, subject)
      const b = evaluate(node.right, subject)
      if (node.op === '==') return equal(a, b)
      if (node.op === '!=') return !equal(a, b)
      return order(node.op, a, b)
    }
    case 'in': {
      const value = evaluate(node.left, subject)
      const list = evaluate(node.list, subject) as unknown[]
      const found = list.some((item) => equal(value, item))
      return node.negated ? !found : found
    }
  }
}

/** Compiles a filter to a predicate. */
export function compileFilter(text: string, fields: ReadonlySet<string>): (subject: Record<string, unknown>) => boolean {
  const node = parseFilter(text, fields)
  return (subject) => truthy(evaluate(node, subject))
}
