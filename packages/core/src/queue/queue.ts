import type { BaseBroker } from '../broker/base-broker.js'
import { getBroker } from '../broker/registry.js'
import { ValidationError } from '../errors/classes.js'
import type { AnyFunction, TaskDefinition, TaskRegistry } from '../functions/registry.js'
import type { TaskPrototype } from '../task/prototype.js'
import { currentContext } from '../worker/task-context.js'
import { armCompletions, noteBirths } from './completion.js'
import { Future } from './future.js'
import { flattenGraph } from './graph.js'
import { type Inherited, buildCallSpec } from './spec-builder.js'

type Fn<F> = F extends TaskDefinition<infer G> ? G : F extends AnyFunction ? F : never
type ResultOf<F> = Awaited<ReturnType<Fn<F> & AnyFunction>>
type RegistryFn<K extends keyof TaskRegistry> = TaskRegistry[K] extends TaskDefinition<infer G> ? G : TaskRegistry[K] extends AnyFunction ? TaskRegistry[K] : AnyFunction

export interface QueueOptions {
  /** A broker URL or instance. @default $AQUE_BROKER, else "memory:" */
  broker?: string | BaseBroker
}

/** Submits tasks to a broker and hands back futures. */
export class Queue {
  private brokerPromise: Promise<BaseBroker> | null
  private resolved: BaseBroker | null
  private readonly ownsBroker: boolean

  constructor(options: QueueOptions = {}) {
    const given = options.broker
    if (given !== undefined && typeof given !== 'string' && typeof given !== 'object') {
      throw new ValidationError('broker: expected a URL or a broker instance')
    }
    this.resolved = typeof given === 'object' ? given : null
    this.ownsBroker = this.resolved === null
    this.brokerPromise = this.resolved ? Promise.resolve(this.resolved) : null
    if (!this.resolved) {
      this.brokerPromise = getBroker(given as string | undefined)
      this.brokerPromise.then(
        (b) => {
          this.resolved = b
        },
        () => {},
      )
    }
  }

  /** The broker, once resolved from its URL. */
  async broker(): Promise<BaseBroker> {
    if (this.resolved) return this.resolved
    return this.brokerPromise as Promise<BaseBroker>
  }

  /** Submits `fn(...args)`; resolves once the task is stored (pending). */
  submit<K extends keyof TaskRegistry>(name: K, ...args: Parameters<RegistryFn<K>>): Promise<Future<Awaited<ReturnType<RegistryFn<K>>>>>
  submit<F extends AnyFunction | TaskDefinition>(fn: F, ...args: Parameters<Fn<F>>): Promise<Future<ResultOf<F>>>
  submit(fn: string, ...args: unknown[]): Promise<Future<unknown>>
  submit(fn: unknown, ...args: unknown[]): Promise<Future<unknown>> {
    // Chained, not async: a submit → await round trip is short, and every layer costs promises.
    if (!this.resolved) return this.broker().then((broker) => this.submitCall(broker, fn, args))
    return this.submitCall(this.resolved, fn, args)
  }

  private submitCall(broker: BaseBroker, fn: unknown, args: unknown[]): Promise<Future<unknown>> {
    let spec: ReturnType<typeof buildCallSpec>
    try {
      spec = buildCallSpec(fn, args, broker.capabilities, this.parentOf(broker))
    } catch (err) {
      return Promise.reject(err)
    }
    const armed = armCompletions(broker)
    return broker.submit([{ spec, dependencies: [] }]).then((ids) => {
      const id = ids[0] as number
      if (armed) noteBirths(broker, [id])
      return new Future(id, broker)
    })
  }

  /** Submits one prototype with all its options and nested dependencies. */
  async submitEx<T = unknown>(prototype: TaskPrototype): Promise<Future<T>> {
    const [future] = await this.submitMany([prototype])
    return future as Future<T>
  }

  /**
   * Submits prototypes and their nested dependencies as one atomic batch: workers see all of
   * it or none. Returns the futures of the given prototypes, in order.
   */
  async submitMany(prototypes: TaskPrototype[]): Promise<Future<unknown>[]> {
    if (!Array.isArray(prototypes)) throw new ValidationError('prototypes: expected an array')
    const broker = this.resolved ?? (await this.broker())
    const { batch, rootIndexes } = flattenGraph(prototypes, broker.capabilities, this.parentOf(broker))
    const armed = armCompletions(broker)
    const ids = await broker.submit(batch)
    const futures = rootIndexes.map((i) => new Future(ids[i] as number, broker))
    if (armed) noteBirths(broker, futures.map((f) => f.id))
    return futures
  }

  /** A submitter with defaults: `const thumb = queue.task(resize, { cpus: 2 }); await thumb('a.png', 64)`. */
  task<F extends AnyFunction | TaskDefinition>(fn: F, defaults: Omit<TaskPrototype, 'func' | 'args'> = {}): (...args: Parameters<Fn<F>>) => Promise<Future<ResultOf<F>>> {
    return (...args) => this.submitEx<ResultOf<F>>({ ...defaults, func: fn as TaskPrototype['func'], args })
  }

  /** The future of an existing task. */
  async future<T = unknown>(id: number): Promise<Future<T>> {
    if (!Number.isSafeInteger(id) || id <= 0) throw new ValidationError(`id: ${id} is not a task id`)
    return new Future<T>(id, await this.broker())
  }

  /**
   * Closes the broker if this queue opened it from a URL. An in-process memory broker is
   * shared by the queues and workers of this process, so it stays open.
   */
  async close(): Promise<void> {
    if (!this.ownsBroker || !this.brokerPromise) return
    const broker = await this.brokerPromise.catch(() => null)
    if (broker?.capabilities.shared) await broker.close()
  }

  /** Inside a running task on the same broker, new tasks are its children. */
  private parentOf(broker: BaseBroker): Inherited | null {
    const ctx = currentContext()
    if (!ctx || ctx.broker !== broker) return null
    const t = ctx.record
    return { id: t.id, priority: t.priority, user: t.user, group: t.group, cwd: t.cwd, environ: t.environ, host: t.host, platform: t.platform }
  }
}
