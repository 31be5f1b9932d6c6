import { type AnyFunction, resolveFunctionNow } from '../functions/registry.js'
import { type Pattern, type PatternContext, registerPattern } from './pattern.js'
import { shellPattern } from './shell.js'

/** `func(...args)`, with `kwargs` as a last argument when given. */
export const genericPattern: Pattern = {
  name: 'generic',
  run(ctx) {
    // A task() name is called in this turn: a promise per layer costs a short task much of
    // its time (and more while AsyncLocalStorage hooks every promise).
    const fn = resolveFunctionNow(ctx.record.func ?? '')
    if (fn) return callWith(fn, ctx)
    return ctx.resolveFunction().then((resolved) => callWith(resolved, ctx))
  },
}

const callWith = (fn: AnyFunction, ctx: PatternContext): unknown => (ctx.kwargs ? fn(...ctx.args, ctx.kwargs) : fn(...ctx.args))

/** Folds the dependencies' results with `func(acc, value)`, from `args[0]` if given, else the first result. */
export const reducePattern: Pattern = {
  name: 'reduce',
  async run(ctx) {
    const fn = await ctx.resolveFunction()
    const values = await ctx.dependencyResults()
    let acc: unknown
    let start = 0
    if (ctx.args.length > 0) acc = ctx.args[0]
    else {
      acc = values[0]
      start = 1
    }
    for (let i = start; i < values.length; i++) acc = await fn(acc, values[i])
    return acc
  },
}

/** A group (`pattern: null`): succeeds at once, runs nothing. Its result is null. */
export const groupPattern: Pattern = {
  name: 'group',
  async run() {
    return null
  },
}

export function registerBuiltinPatterns(): void {
  for (const p of [genericPattern, reducePattern, groupPattern, shellPattern]) registerPattern(p)
}
